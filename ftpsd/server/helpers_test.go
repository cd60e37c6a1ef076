package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

const (
	testUser     = "alice"
	testPassword = "correct horse"
	testServer   = "ftpsd.test"
)

var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	return SelfSignedCertificate([]string{testServer, "127.0.0.1", "::1"}, time.Hour)
})

var testHash = sync.OnceValues(func() ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
})

type testEnv struct {
	t    testing.TB
	srv  *Server
	addr string
	root string
	cfg  *config.Config
	pool *x509.CertPool
}

// home is alice's home on disk.
func (e *testEnv) home() string { return filepath.Join(e.root, testUser) }

type envOpt struct {
	mutate   func(*config.Config)
	implicit bool
	network  string // "tcp4" (default) or "tcp6"
	auth     func(Authenticator) Authenticator
	perms    []users.Permission
	extra    []users.User
	clientCA *x509.CertPool
	// now is the bans' clock (nil: time.Now); loginDelay the failed-login
	// delay (0: none in tests).
	now        func() time.Time
	loginDelay time.Duration
	// replyTimeout, when set, bounds each reply write instead of
	// writeTimeout; set before the server starts, which then reads it.
	replyTimeout time.Duration
	// ordinal, when set, is the replica's ordinal (-1 otherwise: outside
	// a StatefulSet).
	ordinal *int
	logger  *slog.Logger
	metrics *metrics.Metrics
}

func newEnv(t testing.TB, o envOpt) *testEnv {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := testHash()
	if err != nil {
		t.Fatal(err)
	}
	perms := o.perms
	if perms == nil {
		perms = users.AllPermissions
	}
	db, err := users.NewDB(append([]users.User{
		{Username: testUser, PasswordHash: string(hash), Permissions: perms},
		{Username: "bob", PasswordHash: string(hash), Permissions: []users.Permission{users.PermList, users.PermRead}},
	}, o.extra...))
	if err != nil {
		t.Fatal(err)
	}
	var auth Authenticator = users.NewStore(db)
	if o.auth != nil {
		auth = o.auth(auth)
	}
	root := t.TempDir()
	cfg := config.Default()
	cfg.Root = root
	cfg.Limits.DataTimeout.Duration = 5 * time.Second
	if o.mutate != nil {
		o.mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	delay := o.loginDelay
	if delay == 0 {
		delay = -1
	}
	logger := o.logger
	if logger == nil {
		logger = testLogger()
	}
	ordinal := -1
	if o.ordinal != nil {
		ordinal = *o.ordinal
	}
	srv, err := New(cfg, Options{
		TLSConfig:  &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: o.clientCA},
		Users:      auth,
		Logger:     logger,
		Ordinal:    ordinal,
		Now:        o.now,
		LoginDelay: delay,
		Metrics:    o.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.replyTimeout > 0 {
		srv.replyTimeout = o.replyTimeout
	}
	network, host := "tcp4", "127.0.0.1:0"
	if o.network == "tcp6" {
		network, host = "tcp6", "[::1]:0"
	}
	ln, err := net.Listen(network, host)
	if err != nil {
		t.Fatalf("cannot listen on %s: %v (the tests need loopback IPv4 and IPv6)", host, err)
	}
	go func() { _ = srv.Serve(ln, o.implicit) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &testEnv{t: t, srv: srv, addr: ln.Addr().String(), root: root, cfg: cfg, pool: pool}
}

// client is a small FTPS client for the tests.
type client struct {
	t       testing.TB
	env     *testEnv
	raw     net.Conn
	conn    net.Conn
	r       *bufio.Reader
	tlsConf *tls.Config
}

func (e *testEnv) tlsConfig(maxVersion uint16) *tls.Config {
	return &tls.Config{
		ServerName:         testServer,
		RootCAs:            e.pool,
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		MaxVersion:         maxVersion,
	}
}

// dial connects and reads the greeting (for implicit FTPS, after the handshake).
func (e *testEnv) dial(implicit bool) *client {
	e.t.Helper()
	raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: e.t, env: e, raw: raw, conn: raw, tlsConf: e.tlsConfig(0)}
	e.t.Cleanup(func() { _ = raw.Close() })
	if implicit {
		tc := tls.Client(raw, c.tlsConf)
		if err := tc.Handshake(); err != nil {
			e.t.Fatal(err)
		}
		c.conn = tc
	}
	c.r = bufio.NewReader(c.conn)
	c.expect(220)
	return c
}

// read returns one reply: its code and its full text.
func (c *client) read() (int, string) {
	c.t.Helper()
	code, text, err := ftptest.ReadReply(c.r)
	if err != nil {
		c.t.Fatal(err)
	}
	return code, text
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// cmd sends a line and returns the reply.
func (c *client) cmd(line string) (int, string) {
	c.t.Helper()
	c.send(line)
	return c.read()
}

func (c *client) expect(code int) string {
	c.t.Helper()
	got, text := c.read()
	if got != code {
		c.t.Fatalf("got %q, want %d", text, code)
	}
	return text
}

// must sends a line and insists on the reply code.
func (c *client) must(line string, code int) string {
	c.t.Helper()
	got, text := c.cmd(line)
	if got != code {
		c.t.Fatalf("%s: got %q, want %d", line, text, code)
	}
	return text
}

func (c *client) authTLS() {
	c.t.Helper()
	c.must("AUTH TLS", 234)
	c.startTLS()
}

func (c *client) startTLS() {
	c.t.Helper()
	tc := tls.Client(c.raw, c.tlsConf)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func (c *client) login() {
	c.t.Helper()
	c.must("USER "+testUser, 331)
	c.must("PASS "+testPassword, 230)
}

// secure does AUTH TLS, login, PBSZ 0, PROT P.
func (c *client) secure() {
	c.t.Helper()
	c.authTLS()
	c.login()
	c.must("PBSZ 0", 200)
	c.must("PROT P", 200)
}

var epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// epsv returns the address of the passive port.
func (c *client) epsv() string {
	c.t.Helper()
	text := c.must("EPSV", 229)
	m := epsvRE.FindStringSubmatch(text)
	if m == nil {
		c.t.Fatalf("bad EPSV reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.env.addr)
	return net.JoinHostPort(host, m[1])
}

// dataConn connects to the passive port; the TLS handshake (when tlsConf is
// not nil) starts once wrap is called, after the 150 reply.
func (c *client) dialData(addr string) net.Conn {
	c.t.Helper()
	d, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = d.SetDeadline(time.Now().Add(20 * time.Second))
	c.t.Cleanup(func() { _ = d.Close() })
	return d
}

func (c *client) wrap(d net.Conn, conf *tls.Config) (net.Conn, error) {
	if conf == nil {
		return d, nil
	}
	tc := tls.Client(d, conf)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// transfer runs a data command over EPSV with the control session's TLS
// config (so the session is resumed); upload is sent, the received bytes are
// returned, with the final reply code.
func (c *client) transfer(command string, upload []byte, protected bool) ([]byte, int, string) {
	c.t.Helper()
	addr := c.epsv()
	d := c.dialData(addr)
	code, text := c.cmd(command)
	if code != 150 {
		return nil, code, text
	}
	var conf *tls.Config
	if protected {
		conf = c.tlsConf
	}
	dc, err := c.wrap(d, conf)
	if err != nil {
		code, text := c.read()
		return nil, code, text
	}
	return c.moveData(d, dc, upload)
}

// moveData sends upload over the data connection dc (on the socket d) and
// closes it, or reads dc to its end when upload is nil; then it reads the
// final reply.
func (c *client) moveData(d, dc net.Conn, upload []byte) ([]byte, int, string) {
	c.t.Helper()
	var got []byte
	var err error
	if upload != nil {
		if _, err := dc.Write(upload); err != nil {
			c.t.Fatalf("upload: %v", err)
		}
		if tc, ok := dc.(*tls.Conn); ok {
			_ = tc.CloseWrite()
		}
		_ = closeWrite(d)
		_, _ = io.Copy(io.Discard, dc)
	} else if got, err = io.ReadAll(dc); err != nil {
		c.t.Fatalf("download: %v", err)
	}
	_ = dc.Close()
	code, text := c.read()
	return got, code, text
}

func closeWrite(c net.Conn) error {
	if tc, ok := c.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

func (e *testEnv) writeFile(rel string, data []byte) {
	e.t.Helper()
	p := filepath.Join(e.home(), rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) readFile(rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(e.home(), rel))
}

func mustCode(t *testing.T, what string, code int, text string, want int) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: got %q, want %d", what, text, want)
	}
}

func listDirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

var _ = fmt.Sprintf

func testLogger() *slog.Logger {
	if os.Getenv("FTPSD_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
