package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/reload/projected"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery"
	// waitFor bounds every wait for a reload; a reload normally takes
	// milliseconds (file events) or one poll interval.
	waitFor = 30 * time.Second
)

// pemPair makes a self-signed certificate for 127.0.0.1 and localhost, with
// a random serial, as PEM.
func pemPair(t *testing.T) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	c := ftptest.SelfSigned(t, ftptest.CertOptions{CommonName: "ftpsd test", Hosts: []string{"localhost"}})
	return c.CertPEM, c.KeyPEM, c.Leaf
}

func usersYAML(t *testing.T, names ...string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("users:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "- username: %s\n  passwordHash: %q\n  permissions: [List, Read, Write, Delete, Rename, MakeDir]\n", n, h)
	}
	return []byte(b.String())
}

// syncBuffer is a log sink the test reads while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type reloadEvent struct {
	file string
	err  error
}

// testApp is ftpsd run in-process from kubelet-style mounted files.
type testApp struct {
	t                          *testing.T
	a                          *app
	dir, tlsDir, usersDir      string
	cfgDir, root               string
	pool                       *x509.CertPool
	logs                       *syncBuffer
	reloads                    chan reloadEvent
	done                       chan error
	cancel                     context.CancelFunc
	certPEM, keyPEM, usersData []byte
}

// configYAML is the ftpsd.yaml of a test app; extra is appended verbatim.
func (ta *testApp) configYAML(extra string) []byte {
	return fmt.Appendf(nil, `listen: "127.0.0.1:0"
metricsListen: "127.0.0.1:0"
root: %q
usersFile: %q
tls: {certFile: %q, keyFile: %q}
limits: {dataTimeout: "10s"}
%s`, ta.root, filepath.Join(ta.usersDir, "users.yaml"), filepath.Join(ta.tlsDir, "tls.crt"), filepath.Join(ta.tlsDir, "tls.key"), extra)
}

func startApp(t *testing.T, extraConfig string) *testApp {
	t.Helper()
	dir := t.TempDir()
	ta := &testApp{t: t, dir: dir, tlsDir: filepath.Join(dir, "tls"), usersDir: filepath.Join(dir, "users"),
		cfgDir: filepath.Join(dir, "config"), root: filepath.Join(dir, "data"), pool: x509.NewCertPool(),
		logs: &syncBuffer{}, reloads: make(chan reloadEvent, 64), done: make(chan error, 1)}
	var cert *x509.Certificate
	ta.certPEM, ta.keyPEM, cert = pemPair(t)
	ta.pool.AddCert(cert)
	ta.usersData = usersYAML(t, testUser)
	ta.write(ta.tlsDir, map[string][]byte{"tls.crt": ta.certPEM, "tls.key": ta.keyPEM})
	ta.write(ta.usersDir, map[string][]byte{"users.yaml": ta.usersData})
	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": ta.configYAML(extraConfig)})
	a, err := newApp([]string{"--config", filepath.Join(ta.cfgDir, "ftpsd.yaml"), "--reload-interval", "250ms",
		"--grace-period", "5s", "--log-level", "debug"}, io.Discard, ta.logs)
	if err != nil {
		t.Fatal(err)
	}
	a.onReload = func(file string, err error) {
		select {
		case ta.reloads <- reloadEvent{file, err}:
		default:
		}
	}
	ta.a = a
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	go func() { ta.done <- a.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ta.done:
			if err != nil {
				t.Errorf("ftpsd: %v", err)
			}
		case <-time.After(waitFor):
			t.Error("ftpsd did not stop")
		}
		if t.Failed() {
			t.Logf("ftpsd logs:\n%s", ta.logs.String())
		}
	})
	return ta
}

func (ta *testApp) write(dir string, files map[string][]byte) {
	ta.t.Helper()
	if err := projected.Write(dir, files); err != nil {
		ta.t.Fatal(err)
	}
}

func (ta *testApp) addr() string { return ta.a.ln.Addr().String() }

func (ta *testApp) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: "localhost", RootCAs: ta.pool, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

func (ta *testApp) dial() *ftptest.Client {
	ta.t.Helper()
	c := ftptest.Dial(ta.t, ta.addr(), ta.tlsConfig())
	if c.Greeted != 220 {
		ta.t.Fatalf("greeting %q", c.Text)
	}
	return c
}

// waitReload waits for a reload attempt of file that succeeded (wantErr
// false) or failed (wantErr true), skipping the others (a broken file is
// retried on every poll).
func (ta *testApp) waitReload(file string, wantErr bool) {
	ta.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case ev := <-ta.reloads:
			if ev.file == file && (ev.err != nil) == wantErr {
				return
			}
		case <-deadline:
			ta.t.Fatalf("no reload of %s (failed: %v) within %s", file, wantErr, waitFor)
			return
		}
	}
}

// get fetches a path of the operations endpoint.
func (ta *testApp) get(path string) (int, string) {
	ta.t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get("http://" + ta.a.opsLn.Addr().String() + path)
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (ta *testApp) home(user string) string { return filepath.Join(ta.root, user) }

func mustWriteFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
