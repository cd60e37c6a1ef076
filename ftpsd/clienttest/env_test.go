package clienttest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/server"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest/harness"
)

const (
	user     = "alice"
	password = "s3cret-Pa55"
	// clientTimeout bounds every client run.
	clientTimeout = 60 * time.Second
)

type env struct {
	addr, host, port string
	root             string // storage root
	home             string // alice's home
	caFile           string
	work             string // scratch folder for the clients
}

func start(t *testing.T, mutate func(*config.Config)) *env {
	t.Helper()
	return startServer(t, mutate, false)
}

// startServer starts ftpsd on 127.0.0.1:0, explicit or implicit FTPS.
func startServer(t *testing.T, mutate func(*config.Config), implicit bool) *env {
	t.Helper()
	return startWith(t, serverOpts{mutate: mutate, implicit: implicit})
}

// serverOpts are the less common settings of a test server.
type serverOpts struct {
	mutate    func(*config.Config)
	implicit  bool
	clientCAs *x509.CertPool
	extra     []users.User
}

// startWith starts a server with the shared harness
// (internal/ftptest/harness): alice, and o.extra.
func startWith(t *testing.T, o serverOpts) *env {
	t.Helper()
	h := harness.Run(t, harness.Options{
		User:        user,
		Password:    password,
		Extra:       o.extra,
		Mutate:      o.mutate,
		DataTimeout: 10 * time.Second,
		RootDir:     "root",
	}, func(cfg *config.Config, tlsConf *tls.Config, db *users.DB, ln net.Listener) (func(context.Context) error, error) {
		tlsConf.ClientCAs = o.clientCAs
		srv, err := server.New(cfg, server.Options{
			TLSConfig: tlsConf,
			Users:     users.NewStore(db),
			Logger:    harness.Logger(),
			Ordinal:   -1,
		})
		if err != nil {
			return nil, err
		}
		go func() { _ = srv.Serve(ln, o.implicit) }()
		return srv.Shutdown, nil
	})
	e := &env{addr: h.Addr, root: h.Root, home: filepath.Join(h.Root, user), work: filepath.Join(h.Dir, "work"), caFile: h.CAFile}
	e.host, e.port, _ = net.SplitHostPort(e.addr)
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.home, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// need fails the test (never skips) when a client is missing.
func need(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s is not installed: install the Debian package %q (apt-get install -y %s)", bin, pkg, pkg)
	}
	return p
}

// run runs a client with a timeout and returns its combined output.
func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out after %s:\n%s", name, clientTimeout, out)
	}
	return string(out), err
}

func sum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
