package soak

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// password is every soak user's password (bcrypt at MinCost: the credential
// cache makes repeated logins cheap anyway).
const password = "soak test password"

// server is the ftpsd process under test, with the files it was started from.
type server struct {
	cmd     *exec.Cmd
	dir     string // temp folder: config, users, certificate, log
	root    string // storage root
	ctrl    string // control address
	ops     string // /metrics address
	pool    *x509.CertPool
	logPath string
	exited  chan struct{}
	exitErr error

	mu       sync.Mutex
	warnings []string // WARN and ERROR log lines (the first few)
	warnN    int
	errorN   int
}

// maxKeptLogLines bounds the WARN/ERROR lines kept for the report.
const maxKeptLogLines = 20

// buildFTPSD builds ./ftpsd/cmd/ftpsd without the race detector (the server
// runs as it does in production) into dir.
func buildFTPSD(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	modRoot := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "ftpsd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./ftpsd/cmd/ftpsd")
	cmd.Dir = modRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ftpsd: %w\n%s", err, out)
	}
	return bin, nil
}

// startServer writes a certificate, a users file with users soak0..soakN-1
// (all permissions) and a config sized for sessions clients, starts bin and
// waits until it listens.
func startServer(ctx context.Context, bin, dir string, users, sessions int) (*server, error) {
	s := &server{dir: dir, root: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "ftpsd.log"), exited: make(chan struct{})}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, err
	}
	certPEM, keyPEM, pool, err := selfSigned()
	if err != nil {
		return nil, err
	}
	s.pool = pool
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	var u strings.Builder
	u.WriteString("users:\n")
	for i := range users {
		fmt.Fprintf(&u, "- username: %s\n  passwordHash: %q\n  permissions: [List, Read, Write, Delete, Rename, MakeDir]\n", userName(i), hash)
	}
	usersFile := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(usersFile, []byte(u.String()), 0o600); err != nil {
		return nil, err
	}
	// A passive range of 1000 ports below Linux's ephemeral range
	// (32768-60999), at a random offset so that parallel runs rarely
	// share it; ftpsd skips ports already taken.
	first := 10000 + 1000*mrand.IntN(20)
	// Limits well above the load: a refusal would be a test failure, and
	// the defaults (1000 sessions, 50 per address) fit a real deployment,
	// not 500 sessions from one address.
	limit := max(2000, 3*sessions)
	cfg := fmt.Sprintf(`listen: "127.0.0.1:0"
metricsListen: "127.0.0.1:0"
root: %q
usersFile: %q
tls: {certFile: %q, keyFile: %q}
passive: {portRange: "%d-%d"}
limits: {maxSessions: %d, maxSessionsPerIP: %d}
`, s.root, usersFile, certFile, keyFile, first, first+999, limit, limit)
	cfgFile := filepath.Join(dir, "ftpsd.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}

	// Info level, as in production: the transfer log is part of the load.
	s.cmd = exec.Command(bin, "--config", cfgFile, "--log-level", "info", "--grace-period", "10s")
	// The server dies with this process, even when it crashes.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout = nil
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		s.kill()
		return nil, err
	}
	addrs := make(chan [2]string, 1)
	go s.readLog(stderr, logFile, addrs)
	select {
	case a := <-addrs:
		s.ctrl, s.ops = a[0], a[1]
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("ftpsd exited at start: %v (log %s)", s.exitErr, s.logPath)
	case <-time.After(30 * time.Second):
		s.kill()
		return nil, fmt.Errorf("ftpsd did not listen within 30s (log %s)", s.logPath)
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
}

// readLog copies ftpsd's log to a file, finds the listen addresses in it and
// keeps the WARN and ERROR lines; it waits for the process at the end.
func (s *server) readLog(stderr interface{ Read([]byte) (int, error) }, logFile *os.File, addrs chan<- [2]string) {
	defer close(s.exited)
	defer logFile.Close()
	w := bufio.NewWriterSize(logFile, 256<<10)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var la ftptest.ListenAddresses
	found := false
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = w.Write(line)
		_ = w.WriteByte('\n')
		if !found && la.Scan(line) {
			found = true
			addrs <- [2]string{la.Control, la.Ops}
		}
		// A cheap test first: the transfer log is thousands of lines a second.
		text := string(line)
		warn, isErr := strings.Contains(text, `"level":"WARN"`), strings.Contains(text, `"level":"ERROR"`)
		if warn || isErr {
			s.mu.Lock()
			if warn {
				s.warnN++
			} else {
				s.errorN++
			}
			if len(s.warnings) < maxKeptLogLines {
				s.warnings = append(s.warnings, text)
			}
			s.mu.Unlock()
		}
	}
	_ = w.Flush()
	s.exitErr = s.cmd.Wait()
}

// logProblems returns the count of WARN and ERROR lines so far and the first few.
func (s *server) logProblems() (warn, errs int, lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.warnN, s.errorN, append([]string(nil), s.warnings...)
}

// stop sends SIGTERM and waits (bounded) for ftpsd to exit.
func (s *server) stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.exitErr
	case <-time.After(30 * time.Second):
		s.kill()
		return errors.New("ftpsd did not exit within 30s of SIGTERM")
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
}

// clientTLS is a fresh client configuration: each control connection needs
// its own session cache, since ftpsd's data connections resume only the
// session of their own control connection.
func (s *server) clientTLS() *tls.Config {
	return &tls.Config{ServerName: "127.0.0.1", RootCAs: s.pool, MinVersion: tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(2)}
}

func userName(i int) string { return fmt.Sprintf("soak%d", i) }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	c, err := ftptest.GenerateSelfSigned(ftptest.CertOptions{CommonName: "ftpsd soak", Hosts: []string{"127.0.0.1"},
		NotAfter: time.Now().Add(48 * time.Hour)})
	if err != nil {
		return nil, nil, nil, err
	}
	return c.CertPEM, c.KeyPEM, c.Pool(), nil
}
