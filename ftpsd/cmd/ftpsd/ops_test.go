package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// TestMain lets the tests run ftpsd's real main() in a subprocess: the test
// binary re-executes itself with FTPSD_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("FTPSD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestOpsEndpoints(t *testing.T) {
	ta := startApp(t, "")
	if code, body := ta.get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := ta.get("/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	c := ta.dial()
	c.Secure(testUser, testPassword)
	if _, code, text := c.Transfer("STOR m", []byte("metrics"), true); code != 226 {
		t.Fatalf("STOR: %q", text)
	}
	code, body := ta.get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"ftpsd_certificate_not_after_timestamp_seconds ",
		"ftpsd_sessions_active 1",
		`ftpsd_logins_total{reason="password",result="ok"} 1`,
		`ftpsd_transfers_total{command="STOR",result="ok"} 1`,
		`ftpsd_transfer_bytes_total{direction="in"} 7`,
		`ftpsd_reloads_total{file="config",result="ok"}`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "ftpsd_certificate_not_after_timestamp_seconds 0") {
		t.Error("certificate notAfter not set")
	}
}

// subprocess is ftpsd's main() in a process of its own.
type subprocess struct {
	cmd       *exec.Cmd
	ctrl, ops string
	stderr    *syncBuffer
	exited    chan struct{} // closed when the process has exited
	exitErr   error
	tlsConf   *tls.Config
	root      string
}

func startSubprocess(t *testing.T, extraArgs ...string) *subprocess {
	t.Helper()
	ta := &testApp{t: t}
	dir := t.TempDir()
	ta.dir, ta.tlsDir, ta.usersDir, ta.cfgDir, ta.root = dir, filepath.Join(dir, "tls"), filepath.Join(dir, "users"), filepath.Join(dir, "config"), filepath.Join(dir, "data")
	certPEM, keyPEM, cert := pemPair(t)
	ta.write(ta.tlsDir, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	ta.write(ta.usersDir, map[string][]byte{"users.yaml": usersYAML(t, testUser)})
	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": ta.configYAML("")})
	args := append([]string{"--config", filepath.Join(ta.cfgDir, "ftpsd.yaml")}, extraArgs...)
	// FTPSD_BINARY names a binary built with `go build ./ftpsd/cmd/ftpsd`;
	// without it, this test binary runs main() (see TestMain).
	bin := os.Getenv("FTPSD_BINARY")
	if bin == "" {
		bin = os.Args[0]
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FTPSD_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &subprocess{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{}), root: ta.root}
	p.tlsConf = &tls.Config{ServerName: "localhost", RootCAs: poolOf(cert), ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(waitFor):
		}
		if t.Failed() || os.Getenv("FTPSD_TEST_LOG") != "" {
			t.Logf("ftpsd stderr:\n%s", p.stderr.String())
		}
	})
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var la ftptest.ListenAddresses
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.stderr.Write(append(line, '\n'))
			if la.Scan(line) {
				select {
				case addrs <- [2]string{la.Control, la.Ops}:
				default:
				}
			}
		}
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	select {
	case a := <-addrs:
		p.ctrl, p.ops = a[0], a[1]
	case <-p.exited:
		t.Fatalf("ftpsd exited: %v\n%s", p.exitErr, p.stderr.String())
	case <-time.After(waitFor):
		t.Fatalf("ftpsd did not start:\n%s", p.stderr.String())
	}
	return p
}

func (p *subprocess) readyz(t *testing.T) int {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + p.ops + "/readyz")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// SIGTERM: the listener closes, /readyz turns unready, an idle session gets
// 421, a running download finishes (226, then 421), and ftpsd exits 0.
func TestSIGTERMDrains(t *testing.T) {
	p := startSubprocess(t, "--grace-period", "60s")
	size := 8 << 20
	mustWriteFile(t, filepath.Join(p.root, testUser, "big"), bytes.Repeat([]byte("0123456789abcdef"), size/16))
	if code := p.readyz(t); code != 200 {
		t.Fatalf("/readyz before SIGTERM: %d", code)
	}

	idle := ftptest.Dial(t, p.ctrl, p.tlsConf)
	idle.Secure(testUser, testPassword)

	busy := ftptest.Dial(t, p.ctrl, p.tlsConf)
	busy.Secure(testUser, testPassword)
	busy.Must("TYPE I", 200)
	text := busy.Must("EPSV", 229)
	port := text[strings.Index(text, "|||")+3 : strings.LastIndex(text, "|")]
	host, _, _ := net.SplitHostPort(p.ctrl)
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_ = d.(*net.TCPConn).SetReadBuffer(32 << 10)
	_ = d.SetDeadline(time.Now().Add(2 * waitFor))
	busy.Must("RETR big", 150)
	dc := tls.Client(d, p.tlsConf)
	first := make([]byte, 1<<16)
	if _, err := io.ReadFull(dc, first); err != nil {
		t.Fatal(err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Idle: 421 at once.
	if code, text := idle.Read(); code != 421 {
		t.Fatalf("idle session: %q", text)
	}
	// Unready while draining (bounded wait for the signal to land).
	unready := false
	for range 400 {
		if code := p.readyz(t); code == http.StatusServiceUnavailable {
			unready = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !unready {
		t.Fatal("/readyz stayed ready while draining")
	}
	if c, err := net.DialTimeout("tcp", p.ctrl, time.Second); err == nil {
		_ = c.Close()
		t.Fatal("the control listener still accepts")
	}
	// The running download completes.
	rest, err := io.ReadAll(dc)
	if err != nil || len(first)+len(rest) != size {
		t.Fatalf("download cut short: %d of %d bytes, %v", len(first)+len(rest), size, err)
	}
	if code, text := busy.Read(); code != 226 {
		t.Fatalf("after the download: %q", text)
	}
	if code, text := busy.Read(); code != 421 {
		t.Fatalf("after the transfer: %q", text)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Fatalf("ftpsd exited with %v", p.exitErr)
		}
	case <-time.After(waitFor):
		t.Fatal("ftpsd did not exit")
	}
	logs := p.stderr.String()
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatal("no clean stop logged")
	}
	// The download was still running when the drain began.
	if i, j := strings.Index(logs, `"msg":"shutting down"`), strings.Index(logs, `"msg":"transfer"`); i < 0 || j < i {
		t.Fatal("the transfer ended before the drain began: the test proved nothing")
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// A transfer still running when the grace period ends is cut, and ftpsd
// still exits 0.
func TestSIGTERMGracePeriodEnds(t *testing.T) {
	p := startSubprocess(t, "--grace-period", "300ms")
	mustWriteFile(t, filepath.Join(p.root, testUser, "big"), bytes.Repeat([]byte("x"), 16<<20))
	c := ftptest.Dial(t, p.ctrl, p.tlsConf)
	c.Secure(testUser, testPassword)
	text := c.Must("EPSV", 229)
	port := text[strings.Index(text, "|||")+3 : strings.LastIndex(text, "|")]
	host, _, _ := net.SplitHostPort(p.ctrl)
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_ = d.(*net.TCPConn).SetReadBuffer(32 << 10)
	_ = d.SetDeadline(time.Now().Add(2 * waitFor))
	c.Must("RETR big", 150)
	dc := tls.Client(d, p.tlsConf)
	if _, err := io.ReadFull(dc, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	// The client stops reading; the server's writes block.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.exitErr != nil {
			t.Fatalf("ftpsd exited with %v", p.exitErr)
		}
	case <-time.After(waitFor):
		t.Fatal("ftpsd did not exit after its grace period")
	}
	if n, _ := io.Copy(io.Discard, dc); n >= 16<<20 {
		t.Fatal("the whole file arrived although the grace period ended")
	}
}
