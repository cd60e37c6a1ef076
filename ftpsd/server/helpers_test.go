package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/ftptest/harness"
)

const (
	testUser     = "alice"
	testPassword = "correct horse"
	testServer   = harness.ServerName
)

// testCert is the harness's server certificate (valid for testServer).
var testCert = func() (tls.Certificate, error) {
	c, err := harness.Certificate()
	if err != nil {
		return tls.Certificate{}, err
	}
	return c.TLS, nil
}

func testHash() ([]byte, error) { return harness.Hash(testPassword) }

type testEnv struct {
	t    testing.TB
	srv  *Server
	addr string
	root string
	cfg  *config.Config
	pool *x509.CertPool
	// harness is the shared harness's server: its CA, its client TLS.
	harness *harness.Server
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

// newEnv starts a server with the shared harness (internal/ftptest/harness):
// alice (testPassword, o.perms) and bob (the same password, list and read).
func newEnv(t testing.TB, o envOpt) *testEnv {
	t.Helper()
	hash, err := testHash()
	if err != nil {
		t.Fatal(err)
	}
	var srv *Server
	h := harness.Run(t, harness.Options{
		User:     testUser,
		Password: testPassword,
		Perms:    o.perms,
		Extra: append([]users.User{{Username: "bob", PasswordHash: string(hash), Permissions: []users.Permission{users.PermList, users.PermRead}}},
			o.extra...),
		Mutate:  o.mutate,
		Network: o.network,
	}, func(cfg *config.Config, tlsConf *tls.Config, db *users.DB, ln net.Listener) (func(context.Context) error, error) {
		var auth Authenticator = users.NewStore(db)
		if o.auth != nil {
			auth = o.auth(auth)
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
		tlsConf.ClientCAs = o.clientCA
		var err error
		srv, err = New(cfg, Options{
			TLSConfig:  tlsConf,
			Users:      auth,
			Logger:     logger,
			Ordinal:    ordinal,
			Now:        o.now,
			LoginDelay: delay,
			Metrics:    o.metrics,
		})
		if err != nil {
			return nil, err
		}
		if o.replyTimeout > 0 {
			srv.replyTimeout = o.replyTimeout
		}
		go func() { _ = srv.Serve(ln, o.implicit) }()
		return srv.Shutdown, nil
	})
	return &testEnv{t: t, srv: srv, addr: h.Addr, root: h.Root, cfg: h.Config, pool: h.Pool, harness: h}
}

// client is the shared FTPS test client (ftptest.Client) with the helpers
// that know this package's test user.
type client struct {
	*ftptest.Client
	env *testEnv
}

func (e *testEnv) tlsConfig(maxVersion uint16) *tls.Config {
	return e.harness.ClientTLS(maxVersion)
}

// newClient uses an open connection (for t, which closes it) and reads
// nothing.
func (e *testEnv) newClient(t testing.TB, raw net.Conn) *client {
	return &client{Client: ftptest.NewClient(t, e.addr, raw, e.tlsConfig(0)), env: e}
}

// dial connects and reads the greeting (for implicit FTPS, after the handshake).
func (e *testEnv) dial(implicit bool) *client {
	e.t.Helper()
	raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.newClient(e.t, raw)
	if implicit {
		c.StartTLS()
	}
	c.Reply(220)
	return c
}

func (c *client) login() {
	c.T.Helper()
	c.Login(testUser, testPassword)
}

// secure does AUTH TLS, login, PBSZ 0, PROT P.
func (c *client) secure() {
	c.T.Helper()
	c.Secure(testUser, testPassword)
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

func testLogger() *slog.Logger { return harness.Logger() }

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
