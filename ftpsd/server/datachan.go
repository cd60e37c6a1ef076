package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dataSetup is what PASV/EPSV/PORT/EPRT prepared: one data connection.
type dataSetup interface {
	// open returns the data connection (accepted or dialled), before TLS.
	open(ctx context.Context) (net.Conn, error)
	close()
}

// passiveSetup is a listener on one passive port. It counts towards its
// client address's share of the passive ports (Server.holdPassive) until it
// is closed: by the data command that uses it, by the session, or by expiry
// when nothing connected within dataTimeout.
type passiveSetup struct {
	ln          *net.TCPListener
	clientIP    netip.Addr
	requireSame bool
	srv         *Server
	log         interface {
		Info(string, ...any)
	}
	expiry    *time.Timer // nil when dataTimeout is zero
	closeOnce sync.Once
}

// maxForeignConns bounds the wrong-address connections a passive port
// closes while it waits for its client. It is far above what a client racing
// for the port can send before the deadline ends the wait anyway, so that
// such connections cannot make the real client's transfer fail.
const maxForeignConns = 1 << 16

var errPassiveExpired = errors.New("the passive port was closed: nothing connected within limits.dataTimeout")

func (p *passiveSetup) open(ctx context.Context) (net.Conn, error) {
	if p.expiry != nil && !p.expiry.Stop() {
		return nil, errPassiveExpired
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = p.ln.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = p.ln.SetDeadline(time.Now()) })
	defer stop()
	for range maxForeignConns {
		tc, err := p.ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		c := p.srv.wrapProxy(tc)
		if dl, ok := ctx.Deadline(); ok {
			_ = c.SetReadDeadline(dl)
		}
		if err := proxyHandshake(c); err != nil {
			p.log.Info("data connection refused", "error", err)
			p.srv.metrics.DataRefused("proxy_protocol")
			_ = c.Close()
			continue
		}
		if d := dataPeer(p.requireSame, p.clientIP, remoteIP(c)); !d.allow {
			// Someone else raced for the port.
			p.log.Info("data connection from a foreign address refused", "from", c.RemoteAddr().String())
			p.srv.metrics.DataRefused(d.reason)
			_ = c.Close()
			continue
		}
		return c, nil
	}
	return nil, errors.New("too many data connections from foreign addresses")
}

// close closes the listener and gives its port back to the client address's
// share. The session's goroutine calls it, or the transfer's; expire may have
// done it already.
func (p *passiveSetup) close() {
	if p.expiry != nil {
		p.expiry.Stop()
	}
	p.closeOnce.Do(p.release)
}

// expire runs in the timer's goroutine when nothing connected within
// dataTimeout: an idle PASV must not keep a port of the replica's small pool
// for the rest of the session. The data command that comes later gets 425.
func (p *passiveSetup) expire() {
	p.closeOnce.Do(func() {
		p.log.Info("passive port closed: no data connection within dataTimeout", "port", p.ln.Addr().(*net.TCPAddr).Port)
		p.release()
	})
}

func (p *passiveSetup) release() {
	_ = p.ln.Close()
	p.srv.releasePassive(p.clientIP)
}

// activeSetup dials the client (PORT/EPRT).
type activeSetup struct {
	local  netip.Addr
	remote netip.AddrPort
}

func (a *activeSetup) open(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{}
	if a.local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: a.local.AsSlice()}
	}
	return d.DialContext(ctx, "tcp", a.remote.String())
}

func (a *activeSetup) close() {}

// errPassiveShare: the client address already holds its share of the pool.
var errPassiveShare = errors.New("passive share of the client address used up")

// passiveShare is how many unconnected passive listeners one client address
// may hold at once: half of a replica's pool (at least one), so that one
// address can never take every port, even with many sessions. Real clients
// connect within milliseconds of PASV, so even many clients behind one NAT
// address rarely hold more than a few at a time. Zero (no limit) when the
// kernel picks ephemeral ports (no portRange).
func passiveShare(first, last int) int {
	if first == 0 {
		return 0
	}
	return max(1, (last-first+1)/2)
}

// listenPassive opens a listener on the control connection's local address,
// on a free port of this replica's passive range.
func (s *session) listenPassive() (*passiveSetup, error) {
	first, last, err := s.cfg.Passive.PortsFor(s.srv.ordinal)
	if err != nil {
		return nil, err
	}
	if !s.srv.holdPassive(s.clientIP, passiveShare(first, last)) {
		return nil, errPassiveShare
	}
	ln, err := listenPassivePort(s.bindIP, first, last)
	if err != nil {
		s.srv.releasePassive(s.clientIP)
		return nil, err
	}
	p := &passiveSetup{ln: ln.(*net.TCPListener), clientIP: s.clientIP, srv: s.srv,
		requireSame: *s.cfg.Policy.Data.RequireSameAddress, log: s.log}
	if d := s.cfg.Limits.DataTimeout.Duration; d > 0 {
		p.expiry = time.AfterFunc(d, p.expire)
	}
	return p, nil
}

// listenPassivePort listens on ip, on a free port of first-last (any
// ephemeral port when first is zero).
func listenPassivePort(ip netip.Addr, first, last int) (net.Listener, error) {
	if !ip.IsValid() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	if first == 0 {
		return net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	}
	n := last - first + 1
	start := rand.IntN(n)
	for i := range n {
		port := first + (start+i)%n
		ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return ln, nil
		}
	}
	return nil, fmt.Errorf("no free port in %d-%d", first, last)
}

// openPassive replaces the session's data setup with a new passive listener;
// it answers 425 itself when there is none to give.
func (s *session) openPassive() (*passiveSetup, bool) {
	s.closeData()
	p, err := s.listenPassive()
	switch {
	case errors.Is(err, errPassiveShare):
		s.log.Info("passive port refused: the client address holds its share of the pool")
		s.srv.metrics.DataRefused("passive_share")
		s.reply(rCantOpenData, "your address holds too many passive ports without connecting to them; connect or wait")
		return nil, false
	case err != nil:
		s.log.Warn("passive listen failed", "error", err)
		s.srv.metrics.DataRefused("no_passive_port")
		s.reply(rCantOpenData, "no passive port available")
		return nil, false
	}
	s.data = p
	return p, true
}

func (s *session) cmdPASV(string) {
	if d := passiveAllowed(s.state()); !d.allow {
		s.answer(d)
		return
	}
	ip := s.localIP
	if adv := s.cfg.Passive.AddressFor(s.srv.ordinal); adv != "" {
		var err error
		if ip, err = resolveIPv4(adv); err != nil {
			s.log.Warn("passive address does not resolve to IPv4", "address", adv, "error", err)
			s.reply(rCantOpenData, "the passive address does not resolve; use EPSV")
			return
		}
	}
	ip = ip.Unmap()
	if !ip.Is4() {
		// PASV can only carry IPv4 (RFC 959); RFC 2428 clients use EPSV.
		s.reply(rCantOpenData, "PASV needs an IPv4 address; use EPSV")
		return
	}
	p, ok := s.openPassive()
	if !ok {
		return
	}
	port := p.ln.Addr().(*net.TCPAddr).Port
	b := ip.As4()
	s.reply(rPASV, fmt.Sprintf("%d,%d,%d,%d,%d,%d", b[0], b[1], b[2], b[3], port>>8, port&0xff))
}

func (s *session) cmdEPSV(arg string) {
	a := strings.ToUpper(strings.TrimSpace(arg))
	switch a {
	case "ALL":
		s.epsvAll = true
		s.reply(rOK, "EPSV ALL ok")
		return
	case "", "1", "2":
	default:
		s.reply(rEPRTProto)
		return
	}
	is4 := !s.localIP.IsValid() || s.localIP.Is4()
	if (a == "1" && !is4) || (a == "2" && is4) {
		s.reply(rEPRTProto)
		return
	}
	p, ok := s.openPassive()
	if !ok {
		return
	}
	s.reply(rEPSV, p.ln.Addr().(*net.TCPAddr).Port)
}

// resolveIPv4 returns host as an IP address, resolving a DNS name (a load
// balancer's hostname) to its first IPv4 address.
func resolveIPv4(host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(ips) == 0 {
		return netip.Addr{}, errors.New("no IPv4 address")
	}
	return ips[0].Unmap(), nil
}

// activeAllowed applies the activeMode rule to PORT/EPRT; false when it
// refused.
func (s *session) activeAllowed() bool {
	d := activeMode(s.cfg.Policy.Data.ActiveMode, s.state())
	if !d.allow {
		if d.reason != "" {
			s.srv.metrics.DataRefused(d.reason)
		}
		s.answer(d)
	}
	return d.allow
}

// setActive records the PORT/EPRT target when the activeTarget rule takes it.
func (s *session) setActive(ap netip.AddrPort) {
	target, d := activeTarget(s.state(), ap)
	if !d.allow {
		s.srv.metrics.DataRefused(d.reason)
		s.answer(d)
		return
	}
	s.closeData()
	s.data = &activeSetup{local: s.bindIP, remote: target}
	s.answer(d)
}

func (s *session) cmdPORT(arg string) {
	if !s.activeAllowed() {
		return
	}
	f := strings.Split(strings.TrimSpace(arg), ",")
	if len(f) != 6 {
		s.reply(rSyntax, "PORT h1,h2,h3,h4,p1,p2")
		return
	}
	var b [6]byte
	for i, x := range f {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n < 0 || n > 255 {
			s.reply(rSyntax, "PORT h1,h2,h3,h4,p1,p2")
			return
		}
		b[i] = byte(n)
	}
	s.setActive(netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(b[4])<<8|uint16(b[5])))
}

func (s *session) cmdEPRT(arg string) {
	if !s.activeAllowed() {
		return
	}
	a := strings.TrimSpace(arg)
	if len(a) < 7 {
		s.reply(rSyntax, "EPRT |proto|address|port|")
		return
	}
	f := strings.Split(a[1:len(a)-1], a[:1])
	if len(f) != 3 || a[len(a)-1] != a[0] {
		s.reply(rSyntax, "EPRT |proto|address|port|")
		return
	}
	if f[0] != "1" && f[0] != "2" {
		s.reply(rEPRTProto)
		return
	}
	ip, err := netip.ParseAddr(f[1])
	port, perr := strconv.ParseUint(f[2], 10, 16)
	if err != nil || perr != nil || (f[0] == "1") != ip.Is4() {
		s.reply(rSyntax, "EPRT |proto|address|port|")
		return
	}
	s.setActive(netip.AddrPortFrom(ip, uint16(port)))
}

var errDataTLS = errors.New("data connection TLS refused")

// dataTLSRefusal: the log text of each dataTLS refusal reason.
var dataTLSRefusal = map[string]string{
	"tls_not_resumed":    "the client did not resume the control connection's TLS session",
	"client_certificate": "client certificate differs from the control connection's",
}

// openData opens the prepared data connection and, under PROT P, runs the
// TLS handshake as the server and checks that it resumed this control
// connection's session (and carries its client certificate).
func (s *session) openData(ctx context.Context, setup dataSetup) (net.Conn, error) {
	c, err := setup.open(ctx)
	setup.close()
	if err != nil {
		return nil, err
	}
	if s.prot != 'P' {
		return c, nil
	}
	tc := tls.Server(&bulkConn{Conn: c}, s.dataTLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		reason := "tls_handshake"
		if errors.Is(err, errNoResumption) || errors.Is(err, errForeignSession) {
			reason = "tls_not_resumed"
		}
		s.srv.metrics.DataRefused(reason)
		return nil, fmt.Errorf("%w: %v", errDataTLS, err)
	}
	st := tc.ConnectionState()
	s.srv.metrics.Handshake("data", st)
	if d := dataTLS(s.cfg.Policy.Data, st.DidResume, s.sameCertificate(st)); !d.allow {
		_ = tc.Close()
		s.srv.metrics.DataRefused(d.reason)
		return nil, fmt.Errorf("%w: %s", errDataTLS, dataTLSRefusal[d.reason])
	}
	return tc, nil
}
