package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// TLS session binding.
//
// RFC 4217 section 10.2 lets a server insist that a data connection resume the
// TLS session of its control connection, so that a third party that connects
// first to a passive port cannot take the transfer. Each control connection
// gets a random 16-byte binding. Every ticket the server issues for that
// session (on the control connection, and again on its data connections under
// TLS 1.3) carries the binding in SessionState.Extra; the data connections'
// UnwrapSession ignores every ticket whose binding is not this session's, so
// that a ticket from another session - even one of the same user - never
// resumes, and ConnectionState.DidResume tells the transfer whether the client
// resumed this very session. Control connections never resume: each one is a
// full handshake that starts a fresh binding.
const bindingPrefix = "ftpsd-bind/v1:"

// sessionTLSConfigs derives the control and data TLS configurations of one
// session from the server's base configuration and the policy.
func (srv *Server) sessionTLSConfigs(cfg *config.Config) (ctrl, data *tls.Config, binding []byte) {
	binding = make([]byte, 16)
	_, _ = rand.Read(binding)
	tag := append([]byte(bindingPrefix), binding...)

	base := srv.tlsBase.Clone()
	base.MinVersion = cfg.Policy.TLS.TLSMinVersion()
	if suites, err := cfg.Policy.TLS.Suites(); err == nil && len(suites) > 0 {
		base.CipherSuites = suites
	}
	switch cfg.Policy.Authentication.ClientCertificate {
	case config.ClientCertificateRequired:
		base.ClientAuth = tls.RequireAndVerifyClientCert
	case config.ClientCertificateOptional, config.ClientCertificateSufficient:
		base.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		base.ClientAuth = tls.NoClientCert
	}
	base.NextProtos = nil

	ctrl = base.Clone()
	data = base.Clone()
	wrap := func(c *tls.Config) func(tls.ConnectionState, *tls.SessionState) ([]byte, error) {
		return func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			ss.Extra = append(ss.Extra, tag)
			return c.EncryptTicket(cs, ss)
		}
	}
	ctrl.WrapSession = wrap(ctrl)
	data.WrapSession = wrap(data)
	ctrl.UnwrapSession = func([]byte, tls.ConnectionState) (*tls.SessionState, error) {
		return nil, nil // never resume a control connection
	}
	required := cfg.Policy.Data.SessionReuse == config.SessionReuseRequired
	data.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := data.DecryptTicket(identity, cs)
		if err == nil && ss != nil {
			for _, e := range ss.Extra {
				if bytes.Equal(e, tag) {
					return ss, nil
				}
			}
		}
		if required {
			// Fail the handshake itself, so that the client learns it at
			// once instead of after it has started sending data.
			return nil, errForeignSession
		}
		return nil, nil // a full handshake; DidResume will be false
	}
	if required {
		data.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			if !offersResumption(hi) {
				return nil, errNoResumption
			}
			return nil, nil
		}
	}
	return ctrl, data, binding
}

var (
	errForeignSession = errors.New("data connection offered a TLS session that is not its control connection's")
	errNoResumption   = errors.New("data connection offered no TLS session to resume")
)

// TLS extension numbers (IANA).
const (
	extSessionTicket = 35
	extPreSharedKey  = 41
)

// offersResumption reports whether a ClientHello can possibly resume: a TLS
// 1.3 client needs a pre_shared_key, a TLS 1.2-only client the session_ticket
// extension (crypto/tls resumes by ticket only, not by session ID). An empty
// TLS 1.2 ticket extension passes here and is caught by DidResume.
func offersResumption(hi *tls.ClientHelloInfo) bool {
	tls13 := false
	for _, v := range hi.SupportedVersions {
		if v == tls.VersionTLS13 {
			tls13 = true
		}
	}
	for _, e := range hi.Extensions {
		if e == extPreSharedKey || (!tls13 && e == extSessionTicket) {
			return true
		}
	}
	return false
}

// startTLS runs the TLS handshake on the raw control connection (ftpsd is
// the TLS server) and switches the session to it. It returns false when the
// handshake failed and the session must end.
func (s *session) startTLS() bool {
	tc := tls.Server(&recordConn{Conn: s.raw}, s.ctrlTLS)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.LoginTimeout.Duration)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("control TLS handshake failed", "error", err)
		return false
	}
	_ = s.raw.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	s.srv.metrics.Handshake("control", st)
	s.wmu.Lock()
	s.tlsConn = tc
	s.conn = tc
	s.wmu.Unlock()
	// A new reader: whatever the client sent before the handshake is dropped.
	s.br = bufio.NewReaderSize(tc, maxLine)
	s.everTLS = true
	s.ccc = false
	s.peerCert, s.peerLeaf = nil, nil
	if len(st.PeerCertificates) > 0 {
		s.peerLeaf = st.PeerCertificates[0]
		s.peerCert = s.peerLeaf.Raw
	}
	s.log.Info("control connection protected", "tls", tls.VersionName(st.Version), "suite", tls.CipherSuiteName(st.CipherSuite))
	return true
}

func (s *session) cmdAUTH(arg string) {
	d := authTLS(s.state(), s.ccc, arg)
	s.answer(d)
	if !d.allow {
		return
	}
	// As if REIN: the client logs in again inside TLS (RFC 4217 section 4).
	s.resetState()
	if !s.startTLS() {
		s.end("tls_failed")
	}
}

func (s *session) cmdPBSZ(string) {
	d := pbszAllowed(s.state())
	if d.allow {
		s.pbsz = true
	}
	s.answer(d)
}

func (s *session) cmdPROT(arg string) {
	level, d := protLevel(s.cfg.Policy.Data.Protection, s.state(), arg)
	if d.allow {
		s.prot = level
	}
	s.answer(d)
}

func (s *session) cmdCCC(string) {
	d := cccAllowed(s.cfg.Policy.Control.CCC, s.state())
	s.answer(d)
	if !d.allow {
		return
	}
	if !s.dropTLS() {
		s.end("tls_failed")
		return
	}
	s.ccc = true
	s.log.Info("control connection cleared (CCC)")
}

// dropTLS sends close_notify, waits for the client's and goes on in clear
// on the same TCP connection (CCC, REIN). False when the client did not
// close its TLS side cleanly: the session must end.
func (s *session) dropTLS() bool {
	tc := s.tlsConn
	_ = tc.SetWriteDeadline(time.Now().Add(tlsShutdownTimeout))
	if err := tc.CloseWrite(); err != nil {
		return false
	}
	_ = tc.SetReadDeadline(time.Now().Add(tlsShutdownTimeout))
	var sink [512]byte
	for range 64 {
		_, err := tc.Read(sink[:])
		if errors.Is(err, io.EOF) {
			_ = s.raw.SetDeadline(time.Time{})
			s.wmu.Lock()
			s.tlsConn = nil
			s.conn = s.raw
			s.wmu.Unlock()
			s.br = bufio.NewReaderSize(s.raw, maxLine)
			return true
		}
		if err != nil {
			s.log.Info("client did not close TLS cleanly", "error", err)
			return false
		}
	}
	return false
}

func (s *session) cmdREIN(string) {
	s.waitTransfer()
	s.resetState()
	s.reply(rReady)
	if s.implicit {
		return // implicit FTPS: TLS is the transport itself and stays
	}
	if s.tlsConn != nil {
		// RFC 4217 section 11: REIN clears the TLS layer too.
		if !s.dropTLS() {
			s.end("tls_failed")
			return
		}
	}
	s.everTLS = false
	s.ccc = false
	s.peerCert, s.peerLeaf = nil, nil
	// A fresh binding: tickets of the old TLS session no longer resume.
	s.ctrlTLS, s.dataTLS, s.binding = s.srv.sessionTLSConfigs(s.cfg)
	s.connectedAt = time.Now()
}

// sameCertificate reports whether a data connection's client certificate is
// the control connection's (policy data.requireSameClientCertificate).
func (s *session) sameCertificate(st tls.ConnectionState) bool {
	if s.peerCert == nil {
		return true
	}
	if len(st.PeerCertificates) == 0 {
		return false
	}
	return sha256.Sum256(st.PeerCertificates[0].Raw) == sha256.Sum256(s.peerCert)
}

// recordConn hands crypto/tls exactly one TLS record at a time and never
// reads past the end of the record, so that when the TLS layer ends (CCC,
// REIN) the clear text the client sends right after its close_notify is
// still in the socket, not swallowed by crypto/tls's read buffer. It also
// keeps the handshake from reading anything the client sent after it.
type recordConn struct {
	net.Conn
	hdr  [5]byte
	hdrN int // header bytes seen of the current record
	left int // body bytes left in the current record
}

func (r *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.left == 0 {
		want := len(r.hdr) - r.hdrN
		if len(p) > want {
			p = p[:want]
		}
		n, err := r.Conn.Read(p)
		copy(r.hdr[r.hdrN:], p[:n])
		r.hdrN += n
		if r.hdrN == len(r.hdr) {
			r.left = int(binary.BigEndian.Uint16(r.hdr[3:5]))
			r.hdrN = 0
		}
		return n, err
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.Conn.Read(p)
	r.left -= n
	return n, err
}
