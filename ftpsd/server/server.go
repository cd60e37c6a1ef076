// Package server is ftpsd's protocol engine: FTP (RFC 959) over TLS
// (RFC 2228, RFC 4217) with the extensions of RFC 2389, RFC 2428 and RFC 3659.
//
// A Server owns its listeners, its command table and its sessions. Each
// session has a reader goroutine that feeds command lines to the session's
// own goroutine, and each transfer runs in a goroutine of its own, so that
// ABOR and STAT are answered while data flows.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// Authenticator checks credentials; *users.Store implements it.
type Authenticator interface {
	Authenticate(username, password string) (*users.User, error)
	AuthenticateCertificate(username string, cert *x509.Certificate) (*users.User, error)
}

// Options are what New needs besides the configuration file.
type Options struct {
	// TLSConfig carries the server certificate (Certificates or
	// GetCertificate, so that a reloader can swap it) and ClientCAs. The
	// policy's versions, suites and client-certificate mode are applied on top.
	TLSConfig *tls.Config
	// Users authenticates logins.
	Users Authenticator
	// Logger receives JSON logs; nil means slog.Default().
	Logger *slog.Logger
	// Ordinal is this replica's ordinal (from POD_NAME), -1 outside a StatefulSet.
	Ordinal int
	// Metrics records what the server does; nil records nothing.
	Metrics *metrics.Metrics
	// Now is the clock of bans; nil means time.Now. Tests inject one.
	Now func() time.Time
	// LoginDelay is the wait before the reply to a session's first failed
	// login, doubled on each further failure up to MaxLoginDelay. Zero means
	// the defaults (1s, 5s); a negative LoginDelay means no delay.
	LoginDelay, MaxLoginDelay time.Duration
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("ftpsd: server closed")

// Server is one FTPS endpoint.
type Server struct {
	cfg      atomic.Pointer[config.Config]
	tlsBase  *tls.Config
	users    Authenticator
	log      *slog.Logger
	ordinal  int
	root     *os.Root
	homes    *homes // the users' home roots, shared by their sessions
	commands map[string]*command
	metrics  *metrics.Metrics
	bans     *banList

	loginDelay, maxLoginDelay time.Duration
	// replyTimeout bounds each reply write (writeTimeout; tests shorten it).
	replyTimeout time.Duration

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	sessions    map[*session]struct{}
	perIP       map[string]int
	passiveHeld map[netip.Addr]int // unconnected passive listeners per client address
	closing     atomic.Bool
	transfers   atomic.Int64
	sessionsWG  sync.WaitGroup
	nextID      atomic.Uint64
}

// New builds a Server from a validated configuration.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("ftpsd: nil config")
	}
	if opts.TLSConfig == nil || (len(opts.TLSConfig.Certificates) == 0 && opts.TLSConfig.GetCertificate == nil) {
		return nil, errors.New("ftpsd: a TLS certificate is required (Certificates or GetCertificate)")
	}
	if opts.TLSConfig.GetConfigForClient != nil {
		// The engine derives per-session configurations (ticket binding);
		// a reloader swaps certificates through GetCertificate instead.
		return nil, errors.New("ftpsd: TLSConfig.GetConfigForClient is not supported; use GetCertificate")
	}
	if cm := cfg.Policy.Authentication.ClientCertificate; cm != "" && cm != config.ClientCertificateNone && opts.TLSConfig.ClientCAs == nil {
		return nil, fmt.Errorf("ftpsd: policy.authentication.clientCertificate %s needs TLSConfig.ClientCAs (tls.clientCAFile)", cm)
	}
	if opts.Users == nil {
		return nil, errors.New("ftpsd: an Authenticator is required")
	}
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("ftpsd: root: %w", err)
	}
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("ftpsd: root: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// Session tickets are encrypted with keys of our own, shared by every
	// clone of tlsBase, so that a ticket issued on a control connection can be
	// decrypted on its data connections (see auth_tls.go for the binding).
	base := opts.TLSConfig.Clone()
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	base.SetSessionTicketKeys([][32]byte{key})
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	delay, maxDelay := opts.LoginDelay, opts.MaxLoginDelay
	if delay == 0 {
		delay = defaultLoginDelay
	}
	if maxDelay <= 0 {
		maxDelay = max(defaultMaxLoginDelay, delay)
	}
	s := &Server{
		metrics:       opts.Metrics,
		bans:          newBanList(now),
		loginDelay:    delay,
		maxLoginDelay: maxDelay,
		replyTimeout:  writeTimeout,
		tlsBase:       base,
		users:         opts.Users,
		log:           log,
		ordinal:       opts.Ordinal,
		root:          root,
		homes:         newHomes(root),
		listeners:     map[net.Listener]struct{}{},
		sessions:      map[*session]struct{}{},
		perIP:         map[string]int{},
		passiveHeld:   map[netip.Addr]int{},
	}
	s.cfg.Store(cfg)
	s.commands = newCommandTable()
	return s, nil
}

// Config returns the configuration in force for new sessions.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// SetConfig replaces the configuration for new sessions (hot reload); open
// sessions keep the snapshot they started with. It refuses a configuration
// that the server cannot apply without a restart's new TLS material (a
// client-certificate mode without client CAs); fields that need a restart
// (config.RestartNeeded) are the caller's to report.
func (s *Server) SetConfig(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("ftpsd: nil config")
	}
	if cm := cfg.Policy.Authentication.ClientCertificate; cm != "" && cm != config.ClientCertificateNone && s.tlsBase.ClientCAs == nil {
		return fmt.Errorf("ftpsd: policy.authentication.clientCertificate %s needs tls.clientCAFile, which was not loaded at start: restart ftpsd", cm)
	}
	s.cfg.Store(cfg)
	return nil
}

// Ready reports whether the server is accepting connections: at least one
// listener is open and it is not shutting down.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners) > 0 && !s.closing.Load()
}

// Draining reports whether Shutdown has begun.
func (s *Server) Draining() bool { return s.closing.Load() }

// ListenAndServe opens the configured listeners and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	cfg := s.Config()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("ftpsd: listen: %w", err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.Serve(ln, false) }()
	n := 1
	if cfg.ImplicitListen != "" {
		iln, err := net.Listen("tcp", cfg.ImplicitListen)
		if err != nil {
			_ = ln.Close()
			if err := <-errc; err != nil && !errors.Is(err, ErrServerClosed) {
				s.log.Debug("explicit listener", "error", err)
			}
			return fmt.Errorf("ftpsd: implicitListen: %w", err)
		}
		n++
		go func() { errc <- s.Serve(iln, true) }()
	}
	var first error
	for range n {
		if err := <-errc; first == nil || errors.Is(first, ErrServerClosed) {
			first = err
		}
	}
	return first
}

// Serve accepts control connections on ln: explicit FTPS (AUTH TLS), or
// implicit FTPS (TLS from the first byte) when implicit is true.
func (s *Server) Serve(ln net.Listener, implicit bool) error {
	if !s.trackListener(ln, true) {
		_ = ln.Close()
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)
	s.log.Info("listening", "address", ln.Addr().String(), "implicit", implicit)
	pl := &proxyListener{Listener: ln, srv: s}
	var backoff time.Duration
	for {
		conn, err := pl.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if isTimeout(err) || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept error; retrying", "error", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.startSession(conn, implicit)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.listeners[ln] = struct{}{}
	} else {
		delete(s.listeners, ln)
	}
	return true
}

// startSession admits a connection in a goroutine of its own: the PROXY
// header (when one is due) is read there, never in the accept loop, and the
// bans and session limits are checked against the real client address.
func (s *Server) startSession(conn net.Conn, implicit bool) {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.sessionsWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.sessionsWG.Done()
		if err := proxyHandshake(conn); err != nil {
			s.log.Info("connection refused", "reason", "proxy protocol", "error", err)
			s.metrics.SessionRefused("proxy_protocol")
			_ = conn.Close()
			return
		}
		sess, ip, ok := s.admit(conn, implicit)
		if !ok {
			return
		}
		defer func() {
			s.mu.Lock()
			delete(s.sessions, sess)
			if s.perIP[ip]--; s.perIP[ip] <= 0 {
				delete(s.perIP, ip)
			}
			s.mu.Unlock()
			s.metrics.SessionClosed(sess.ended())
		}()
		sess.serve()
	}()
}

// admit checks the bans and the session limits, and registers the session.
// A refused connection gets 421 (on explicit FTPS, where the greeting is
// clear text) and is closed.
func (s *Server) admit(conn net.Conn, implicit bool) (*session, string, bool) {
	cfg := s.Config()
	addr := remoteIP(conn)
	ip := addr.String()
	refuse := func(reason string, r reply, args ...any) (*session, string, bool) {
		s.log.Warn("session refused", "reason", reason, "remote", conn.RemoteAddr().String())
		s.metrics.SessionRefused(reason)
		if !implicit {
			text := r.text
			if len(args) > 0 {
				text = fmt.Sprintf(r.text, args...)
			}
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = fmt.Fprintf(conn, "%d %s\r\n", r.code, text)
			s.metrics.Reply(r.code)
		}
		_ = conn.Close()
		return nil, "", false
	}
	if banned, until := s.bans.banned(addr); banned {
		return refuse("banned", rBanned, until.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return refuse("shutting_down", rShutdown)
	}
	if cfg.Limits.MaxSessions > 0 && len(s.sessions) >= cfg.Limits.MaxSessions {
		s.mu.Unlock()
		return refuse("max_sessions", rTooMany)
	}
	if cfg.Limits.MaxSessionsPerIP > 0 && s.perIP[ip] >= cfg.Limits.MaxSessionsPerIP {
		s.mu.Unlock()
		return refuse("max_sessions_per_ip", rTooManyFromIP)
	}
	sess := newSession(s, cfg, conn, implicit)
	s.sessions[sess] = struct{}{}
	s.perIP[ip]++
	s.mu.Unlock()
	s.metrics.SessionOpened()
	return sess, ip, true
}

// holdPassive counts one more passive listener for the client address ip,
// unless it already holds limit of them (zero: no limit).
func (s *Server) holdPassive(ip netip.Addr, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && s.passiveHeld[ip] >= limit {
		return false
	}
	s.passiveHeld[ip]++
	return true
}

func (s *Server) releasePassive(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passiveHeld[ip]--; s.passiveHeld[ip] <= 0 {
		delete(s.passiveHeld, ip)
	}
}

func (s *Server) openSessions() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	return open
}

// ServeConn runs one session on an already accepted connection and returns
// when it ends. Tests and fuzzers use it with net.Pipe.
func (s *Server) ServeConn(conn net.Conn, implicit bool) {
	sess := newSession(s, s.Config(), conn, implicit)
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	sess.serve()
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// Shutdown closes the listeners and sends 421 to every session without a
// running transfer at once; sessions with one get their transfer's final
// reply, then 421, as soon as it ends. When ctx ends first, the remaining
// sessions are closed too (their transfers aborted).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		busy := 0
		for _, sess := range s.openSessions() {
			if sess.xferActive.Load() {
				busy++
				continue
			}
			sess.shutdown()
		}
		if busy == 0 && s.transfers.Load() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
		if err != nil {
			break
		}
	}
	s.abortTransfers(5 * time.Second)
	for _, sess := range s.openSessions() {
		sess.shutdown()
	}
	done := make(chan struct{})
	go func() { s.sessionsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	case <-time.After(5 * time.Second):
	}
	_ = s.root.Close()
	return err
}
