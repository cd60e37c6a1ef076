// Package harness is the one in-process ftpsd harness of the tests: it
// makes the certificate, the users, the storage root, the configuration
// and the listener, and stops the server at the end of the test. It does
// not import ftpsd/server (whose in-package tests use it): the caller
// passes the function that builds and starts the server.
package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// ServerName is a name the harness's certificate is valid for, with
// localhost, 127.0.0.1 and ::1.
const ServerName = "ftpsd.test"

// Options are a test server's settings.
type Options struct {
	// User and Password are the first user's (all permissions unless
	// Perms); Extra users follow it as they are (Hash gives their
	// password hashes).
	User, Password string
	Perms          []users.Permission
	Extra          []users.User
	// Mutate changes the configuration before it is validated.
	Mutate func(*config.Config)
	// DataTimeout is limits.dataTimeout (5 s unless set).
	DataTimeout time.Duration
	// Network is "tcp4" (default, on 127.0.0.1) or "tcp6" (on ::1).
	Network string
	// RootDir is the storage root's name inside the test's directory
	// ("" : the directory itself).
	RootDir string
}

// Server is a running test server.
type Server struct {
	Addr   string
	Dir    string // the test's directory (the root is in it)
	Root   string
	Config *config.Config
	Cert   *ftptest.Cert
	CA     *ftptest.CA
	Pool   *x509.CertPool // trusts Cert
	CAFile string         // the CA in PEM, in Dir
	Hash   []byte         // the first user's password hash
}

// Start is how a test builds and starts ftpsd: it gets the validated
// configuration, a TLS configuration with the server certificate, the
// users and the listener, serves in the background and returns how to
// stop.
type Start func(cfg *config.Config, tlsConf *tls.Config, db *users.DB, ln net.Listener) (shutdown func(context.Context) error, err error)

var ca = sync.OnceValues(func() (*ftptest.CA, error) { return ftptest.GenerateCA("ftptest harness CA") })

var cert = sync.OnceValues(func() (*ftptest.Cert, error) {
	c, err := ca()
	if err != nil {
		return nil, err
	}
	return c.Sign(ftptest.CertOptions{CommonName: ServerName, Hosts: []string{ServerName, "localhost", "127.0.0.1", "::1"}})
})

// Certificate is the servers' certificate, issued by CA.
func Certificate() (*ftptest.Cert, error) { return cert() }

var (
	hashMu sync.Mutex
	hashes = map[string][]byte{}
)

// Hash is password's bcrypt hash (at the lowest cost), made once.
func Hash(password string) ([]byte, error) {
	hashMu.Lock()
	defer hashMu.Unlock()
	if h, ok := hashes[password]; ok {
		return h, nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err == nil {
		hashes[password] = h
	}
	return h, err
}

// Run starts a server for the test; the test's cleanup stops it.
func Run(t testing.TB, o Options, start Start) *Server {
	t.Helper()
	c, err := cert()
	if err != nil {
		t.Fatal(err)
	}
	authority, _ := ca()
	h, err := Hash(o.Password)
	if err != nil {
		t.Fatal(err)
	}
	perms := o.Perms
	if perms == nil {
		perms = users.AllPermissions
	}
	list := []users.User{{Username: o.User, PasswordHash: string(h), Permissions: perms}}
	db, err := users.NewDB(append(list, o.Extra...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Root = filepath.Join(dir, o.RootDir)
	cfg.Limits.DataTimeout.Duration = 5 * time.Second
	if o.DataTimeout > 0 {
		cfg.Limits.DataTimeout.Duration = o.DataTimeout
	}
	if o.Mutate != nil {
		o.Mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	network, host := "tcp4", "127.0.0.1:0"
	if o.Network == "tcp6" {
		network, host = "tcp6", "[::1]:0"
	}
	ln, err := net.Listen(network, host)
	if err != nil {
		t.Fatalf("cannot listen on %s: %v (the tests need loopback IPv4 and IPv6)", host, err)
	}
	shutdown, err := start(cfg, &tls.Config{Certificates: []tls.Certificate{c.TLS}}, db, ln)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	})
	s := &Server{Addr: ln.Addr().String(), Dir: dir, Root: cfg.Root, Config: cfg, Cert: c, CA: authority,
		Pool: authority.Pool(), CAFile: filepath.Join(dir, "ca.pem"), Hash: h}
	if err := os.WriteFile(s.CAFile, authority.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// ClientTLS is a client configuration that trusts the server, for
// ServerName, with a session cache (so data connections resume), at most
// maxVersion (0: the default).
func (s *Server) ClientTLS(maxVersion uint16) *tls.Config {
	return &tls.Config{
		ServerName:         ServerName,
		RootCAs:            s.Pool,
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		MaxVersion:         maxVersion,
	}
}

// Logger is the tests' server logger: discarded, or debug JSON on stderr
// when FTPSD_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("FTPSD_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}
