package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

const (
	// maxLine bounds a command line, CRLF included.
	maxLine = 4096
	// maxLongLines over-long lines close the session with 421.
	maxLongLines = 3
	// maxDiscard bounds how much of an over-long line is read and dropped.
	maxDiscard = 64 << 10
	// maxUnknownCommands unknown commands in a row close the session with
	// 421. A peer that sends them is not speaking FTP: most likely an HTTP
	// client sent to this port (cross-protocol attacks such as ALPACA rely on
	// the server answering line after line), and every HTTP request has a
	// request line and several header lines. FTP clients probe an unknown
	// extension or two, never this many in a row.
	maxUnknownCommands = 8
	// writeTimeout bounds every reply write (Server.replyTimeout). A client
	// that does not read its replies for that long loses its session.
	writeTimeout = 30 * time.Second
	// tlsShutdownTimeout bounds the wait for the client's close_notify (CCC, REIN).
	tlsShutdownTimeout = 10 * time.Second
)

var (
	errLineTooLong = errors.New("command line too long")
	errLineEndless = errors.New("command line without an end")
)

// readResult is one line from the reader goroutine.
type readResult struct {
	line string
	err  error
}

// readRequest asks the reader goroutine for the next line.
type readRequest struct {
	conn     net.Conn
	br       *bufio.Reader
	deadline time.Time
	idle     time.Duration
}

// session is one control connection. Its fields belong to the session's
// goroutine (serve), except those marked otherwise.
type session struct {
	srv      *Server
	cfg      *config.Config
	id       uint64
	log      *slog.Logger
	raw      net.Conn
	implicit bool

	wmu  sync.Mutex // guards writes on conn (the transfer goroutine replies too)
	conn net.Conn   // current control stream: raw, or a *tls.Conn over it
	br   *bufio.Reader

	tlsConn  *tls.Conn // non-nil while the control connection is protected
	binding  []byte    // this control connection's TLS session binding (auth_tls.go)
	ctrlTLS  *tls.Config
	dataTLS  *tls.Config
	peerCert []byte            // raw client certificate of the control connection, if any
	peerLeaf *x509.Certificate // the same, parsed (verified against tls.clientCAFile)
	everTLS  bool              // protected once (stays true after CCC)
	ccc      bool              // CCC done: PBSZ/PROT refused, control in clear
	pbsz     bool
	prot     byte // 'C' or 'P'

	clientIP    netip.Addr
	localIP     netip.Addr // as the client sees it (a PROXY header's destination)
	bindIP      netip.Addr // of the socket itself, where passive ports listen
	connectedAt time.Time

	pendingUser   string
	pendingAnon   bool // USER anonymous/ftp accepted; PASS takes any password
	user          *users.User
	home          *os.Root
	homeDir       string // home's path under the server root, for closeHome
	cwd           string // virtual, "/" is the home
	typ           byte   // 'A' or 'I'
	restOffset    int64
	renameFrom    string // virtual path, "" when none
	epsvAll       bool
	data          dataSetup // from PASV/EPSV/PORT/EPRT, consumed by one transfer
	xfer          *transfer
	loginFailures int
	longLines     int
	unknownInARow int // consecutive unknown commands (maxUnknownCommands)

	lines chan readResult
	next  chan readRequest
	quit  chan struct{}

	xferActive atomic.Bool  // read by the reader goroutine
	xferEnded  atomic.Int64 // unix nanoseconds of the last transfer's end, for the idle timer
	closed     atomic.Bool
	closing    bool                   // set by end: serve returns
	endReason  atomic.Pointer[string] // why the session ended (noteEnd); shutdown sets it from another goroutine

	running atomic.Pointer[transfer] // the transfer under way, for Shutdown (transfer.go)
}

func newSession(srv *Server, cfg *config.Config, conn net.Conn, implicit bool) *session {
	id := srv.nextID.Add(1)
	s := &session{
		srv:         srv,
		cfg:         cfg,
		id:          id,
		raw:         conn,
		conn:        conn,
		implicit:    implicit,
		clientIP:    remoteIP(conn),
		localIP:     localIP(conn),
		bindIP:      socketLocalIP(conn),
		connectedAt: time.Now(),
		lines:       make(chan readResult),
		next:        make(chan readRequest),
		quit:        make(chan struct{}),
	}
	s.log = srv.log.With("session", id, "remote", conn.RemoteAddr().String())
	s.ctrlTLS, s.dataTLS, s.binding = srv.sessionTLSConfigs(cfg)
	s.resetState()
	return s
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func remoteIP(c net.Conn) netip.Addr { return addrIP(c.RemoteAddr()) }
func localIP(c net.Conn) netip.Addr  { return addrIP(c.LocalAddr()) }

// resetState forgets the user and every transfer parameter (REIN, AUTH).
func (s *session) resetState() {
	s.closeHome()
	s.pendingUser = ""
	s.pendingAnon = false
	s.user = nil
	s.cwd = "/"
	s.typ = 'A'
	s.restOffset = 0
	s.renameFrom = ""
	s.epsvAll = false
	s.closeData()
	s.pbsz = false
	s.prot = 'C'
}

func (s *session) closeData() {
	if s.data != nil {
		s.data.close()
		s.data = nil
	}
}

func (s *session) loggedIn() bool { return s.user != nil }

// secured reports whether the control connection is or was (before CCC) protected.
func (s *session) secured() bool { return s.tlsConn != nil || (s.everTLS && s.ccc) }

// serve runs the session until QUIT, an error or Shutdown.
func (s *session) serve() {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in session", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.noteEnd("panic")
			s.replyNow(rInternal)
		}
		s.cleanup()
	}()
	s.log.Info("session opened", "implicit", s.implicit)
	s.br = bufio.NewReaderSize(s.conn, maxLine)
	if s.implicit {
		if !s.startTLS() {
			s.noteEnd("tls_failed")
			return
		}
	}
	go s.readLoop()
	s.reply(rReady)
	s.serveLines()
}

func (s *session) serveLines() {
	for !s.closing {
		select {
		case s.next <- s.readRequest():
		case <-s.quit:
			return
		}
		var r readResult
		select {
		case r = <-s.lines:
		case <-s.quit:
			return
		}
		if r.err != nil {
			if errors.Is(r.err, errLineTooLong) {
				s.longLines++
				if s.longLines >= maxLongLines {
					s.noteEnd("long_lines")
					s.reply(rTooManyLines)
					return
				}
				s.reply(rLineTooLong)
				continue
			}
			if errors.Is(r.err, errLineEndless) {
				s.log.Info("command line without an end: closing", "error", r.err)
				s.noteEnd("line_endless")
				s.reply(rLineEndless)
				return
			}
			switch {
			case isTimeout(r.err):
				what := "idle"
				if !s.loggedIn() {
					what = "login"
				}
				s.log.Info("session timed out", "reason", what)
				s.noteEnd(what + "_timeout")
				s.reply(rTimeout, what)
			case errors.Is(r.err, io.EOF):
				s.noteEnd("client_closed")
			case !s.closed.Load():
				s.log.Info("control connection read error", "error", r.err)
				s.noteEnd("connection_lost")
			}
			return
		}
		s.dispatch(r.line)
	}
}

// readRequest says where and until when the reader goroutine reads.
func (s *session) readRequest() readRequest {
	rq := readRequest{conn: s.conn, br: s.br, idle: s.cfg.Limits.IdleTimeout.Duration}
	if !s.loggedIn() {
		rq.deadline = s.connectedAt.Add(s.cfg.Limits.LoginTimeout.Duration)
	} else {
		rq.deadline = time.Now().Add(rq.idle)
	}
	return rq
}

// readLoop is the session's reader goroutine: it reads one line per request,
// so that the session goroutine decides when (and from which stream: clear or
// TLS) the next line is read. Bytes buffered before AUTH TLS are dropped with
// the old bufio.Reader and never executed.
func (s *session) readLoop() {
	for {
		var rq readRequest
		select {
		case rq = <-s.next:
		case <-s.quit:
			return
		}
		line, err := readLine(rq, &s.xferActive, &s.xferEnded)
		select {
		case s.lines <- readResult{line: line, err: err}:
		case <-s.quit:
			return
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return
		}
	}
}

// readLine reads one CRLF (or LF) terminated line of at most maxLine bytes.
// While a transfer runs, the idle deadline keeps being extended, and the idle
// time counts from the end of the last transfer.
func readLine(rq readRequest, xferActive *atomic.Bool, xferEnded *atomic.Int64) (string, error) {
	deadline := rq.deadline
	for range 1 << 20 { // bounded; each round lasts at least one idle timeout
		_ = rq.conn.SetReadDeadline(deadline)
		b, err := rq.br.ReadSlice('\n')
		if err == nil {
			return string(bytes.TrimRight(b, "\r\n")), nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			discarded := len(b)
			for discarded < maxDiscard {
				b, err = rq.br.ReadSlice('\n')
				discarded += len(b)
				if err == nil {
					return "", errLineTooLong
				}
				if !errors.Is(err, bufio.ErrBufferFull) {
					return "", err
				}
			}
			return "", fmt.Errorf("%w: more than %d bytes", errLineEndless, maxDiscard)
		}
		if isTimeout(err) && len(b) == 0 && rq.idle > 0 {
			if xferActive.Load() {
				deadline = time.Now().Add(rq.idle)
				continue
			}
			if end := time.Unix(0, xferEnded.Load()).Add(rq.idle); end.After(time.Now()) {
				deadline = end
				continue
			}
		}
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

// reply sends one reply from the table; args fill the text's verbs.
func (s *session) reply(r reply, args ...any) {
	text := r.text
	if len(args) > 0 {
		text = fmt.Sprintf(r.text, args...)
	}
	s.writeReply(r.code, text)
}

// replyLines sends a multi-line reply: "code-first", the lines (each starting
// with a space), "code last".
func (s *session) replyLines(code int, first string, lines []string, last string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%d-%s\r\n", code, first)
	for _, l := range lines {
		b.WriteString(" ")
		b.WriteString(sanitize(l))
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "%d %s\r\n", code, last)
	s.srv.metrics.Reply(code)
	s.write(b.String())
}

// sanitize makes text fit on one reply line. strings.Map also turns invalid
// UTF-8 into U+FFFD: replies stay UTF-8 (RFC 2640).
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func (s *session) writeReply(code int, text string) {
	s.srv.metrics.Reply(code)
	s.write(fmt.Sprintf("%d %s\r\n", code, sanitize(text)))
}

func (s *session) write(msg string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.replyTimeout))
	if _, err := io.WriteString(s.conn, msg); err != nil {
		// The session ends: its client does not read its replies (each
		// further one would wait for the deadline again), or is gone, or
		// the TLS stream is broken (a failed write is final for tls.Conn).
		if isTimeout(err) {
			s.log.Info("reply write timed out: closing the session", "timeout", s.srv.replyTimeout.String())
			s.noteEnd("reply_timeout")
		} else {
			s.log.Debug("reply write failed", "error", err)
			s.noteEnd("connection_lost")
		}
		s.close()
	}
}

// replyNow writes a reply ignoring errors, from any goroutine (panic, shutdown).
func (s *session) replyNow(r reply) {
	s.srv.metrics.Reply(r.code)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = fmt.Fprintf(s.conn, "%d %s\r\n", r.code, r.text)
}

// shutdown is called by Server.Shutdown from another goroutine.
func (s *session) shutdown() {
	if s.closed.Load() {
		return
	}
	s.noteEnd("shutdown")
	s.replyNow(rShutdown)
	s.close()
}

// end makes serve return after the current command, for reason (a label of
// ftpsd_sessions_closed_total).
func (s *session) end(reason string) {
	s.noteEnd(reason)
	s.closing = true
}

// noteEnd records why the session ends; the first reason noted stands.
func (s *session) noteEnd(reason string) {
	s.endReason.CompareAndSwap(nil, &reason)
}

// ended is the reason noted, once serve has returned. A session that ends
// with none noted was closed by its client between two reads.
func (s *session) ended() string {
	if r := s.endReason.Load(); r != nil {
		return *r
	}
	return "client_closed"
}

func (s *session) close() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.quit)
		_ = s.raw.Close()
	}
}

func (s *session) cleanup() {
	s.close()
	if s.xfer != nil {
		s.xfer.abort()
		<-s.xfer.done
		s.xfer = nil
	}
	s.resetState()
	s.log.Info("session closed")
}

// dispatch runs one command line through the command table.
func (s *session) dispatch(line string) {
	verb, arg := parseCommand(line)
	cmd, ok := s.srv.commands[verb]
	if !ok {
		if s.unknownInARow++; s.unknownInARow >= maxUnknownCommands {
			s.log.Info("too many unknown commands in a row: closing", "count", s.unknownInARow)
			s.reply(rTooManyUnknown)
			s.end("unknown_commands")
			return
		}
		s.reply(rUnknown)
		return
	}
	s.unknownInARow = 0
	if s.xfer != nil && !cmd.duringTransfer {
		s.waitTransfer()
	}
	if verb != "RNTO" && verb != "RNFR" {
		s.renameFrom = ""
	}
	if cmd.handler == nil {
		s.reply(rNotImplemented, verb)
		return
	}
	st := s.state()
	if d := commandBeforeTLS(s.cfg.Policy.Control, st, cmd); !d.allow {
		s.answer(d)
		return
	}
	if d := loginInClear(s.cfg.Policy, st, cmd, verb, s.loginName(verb, arg)); !d.allow {
		if verb == "PASS" {
			s.srv.metrics.Login(false, d.reason) // a login attempt; USER and ACCT are not
		}
		s.answer(d)
		return
	}
	if d := needsLogin(st, cmd.preLogin); !d.allow {
		s.answer(d)
		return
	}
	if cmd.needsArg && strings.TrimSpace(arg) == "" {
		s.reply(rSyntax, verb+" needs an argument")
		return
	}
	// The permission the command needs, checked once here; the handlers
	// check only what depends on the argument.
	if d := permitted(s.user, cmd.perms); !d.allow {
		s.answer(d)
		return
	}
	// A REST offset stays until the next transfer command consumes it (as
	// vsftpd does): clients send PASV/EPSV or TYPE between REST and RETR.
	cmd.handler(s, arg)
}

// loginName is the user a login command is about: USER's argument, or the
// user PASS and ACCT complete.
func (s *session) loginName(verb, arg string) string {
	if verb == "USER" {
		return strings.TrimSpace(arg)
	}
	return s.pendingUser
}

// answer sends a decision's reply. A refusal's reason is counted by the
// caller, in the counter of what was refused.
func (s *session) answer(d decision) { s.reply(d.reply, d.args...) }

// parseCommand splits a line into an upper-case verb and its argument. Telnet
// IAC sequences (sent by some clients before ABOR) are dropped.
func parseCommand(line string) (verb, arg string) {
	if strings.IndexByte(line, 0xFF) >= 0 || strings.IndexByte(line, 0xF2) >= 0 {
		var b strings.Builder
		for i := 0; i < len(line); i++ {
			switch line[i] {
			case 0xFF:
				i++ // IAC and the byte after it
			case 0xF2: // DM after urgent data
			default:
				b.WriteByte(line[i])
			}
		}
		line = b.String()
	}
	line = strings.TrimLeft(line, " ")
	verb, arg, _ = strings.Cut(line, " ")
	if len(verb) > 8 {
		return "", ""
	}
	for i := 0; i < len(verb); i++ {
		if verb[i] >= 0x80 {
			// Verbs are ASCII; ToUpper would turn invalid UTF-8 into
			// longer replacement characters.
			return "", ""
		}
	}
	return strings.ToUpper(verb), arg
}
