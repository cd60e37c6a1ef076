package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ftpsClient is a small explicit-FTPS client for the tests that need to
// hold a session open across a change (rotation, policy, users). Its data
// connections resume the control connection's TLS session.
type ftpsClient struct {
	t    *testing.T
	conn *tls.Conn
	tp   *textproto.Conn
	cfg  *tls.Config
}

// dialFTPS connects to addr, reads the greeting and runs AUTH TLS,
// verifying the certificate against caFile for serverName.
func dialFTPS(t *testing.T, addr, serverName, caFile string) (*ftpsClient, error) {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = raw.SetDeadline(time.Now().Add(time.Minute))
	tp := textproto.NewConn(raw)
	if _, _, err := tp.ReadResponse(220); err != nil {
		raw.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if _, err := tp.Cmd("AUTH TLS"); err != nil {
		raw.Close()
		return nil, err
	}
	if _, _, err := tp.ReadResponse(234); err != nil {
		raw.Close()
		return nil, fmt.Errorf("AUTH TLS: %w", err)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, ClientSessionCache: tls.NewLRUClientSessionCache(4), MinVersion: tls.VersionTLS12}
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return &ftpsClient{t: t, conn: conn, tp: textproto.NewConn(conn), cfg: cfg}, nil
}

// serial is the hex serial number of the server's certificate.
func (c *ftpsClient) serial() string {
	return c.conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16)
}

// cmd sends a command and returns the reply's code and text.
func (c *ftpsClient) cmd(format string, args ...any) (int, string, error) {
	_ = c.conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.tp.Cmd(format, args...); err != nil {
		return 0, "", err
	}
	code, msg, err := c.tp.ReadResponse(0)
	var perr *textproto.Error
	if err != nil && !errors.As(err, &perr) {
		return 0, "", err
	}
	return code, msg, nil
}

// must sends a command and fails the test unless the reply has code want.
func (c *ftpsClient) must(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg, err := c.cmd(format, args...)
	if err != nil || code != want {
		c.t.Fatalf("%s: got %d %s (%v), want %d", fmt.Sprintf(format, args...), code, msg, err, want)
	}
	return msg
}

// login logs in and protects data connections; it returns the PASS reply code.
func (c *ftpsClient) login(user, password string) int {
	c.t.Helper()
	c.must(331, "USER %s", user)
	code, msg, err := c.cmd("PASS %s", password)
	if err != nil {
		c.t.Fatalf("PASS: %v", err)
	}
	if code == 230 {
		c.must(200, "PBSZ 0")
		c.must(200, "PROT P")
		c.must(200, "TYPE I")
	} else {
		c.t.Logf("PASS: %d %s", code, msg)
	}
	return code
}

// data opens a passive data connection for a command, wrapped in TLS that
// resumes the control session; it returns the connection and waits for 150.
func (c *ftpsClient) data(command string) *tls.Conn {
	c.t.Helper()
	msg := c.must(227, "PASV")
	from, to := strings.IndexByte(msg, '('), strings.IndexByte(msg, ')')
	if from < 0 || to < from {
		c.t.Fatalf("PASV reply %q", msg)
	}
	f := strings.Split(msg[from+1:to], ",")
	if len(f) != 6 {
		c.t.Fatalf("PASV reply %q", msg)
	}
	hi, _ := strconv.Atoi(f[4])
	lo, _ := strconv.Atoi(f[5])
	addr := net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(hi*256+lo))
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		c.t.Fatalf("data connection to %s: %v", addr, err)
	}
	_ = raw.SetDeadline(time.Now().Add(time.Minute))
	if _, err := c.tp.Cmd("%s", command); err != nil {
		c.t.Fatal(err)
	}
	dc := tls.Client(raw, c.cfg)
	if err := dc.Handshake(); err != nil {
		c.t.Fatalf("data TLS handshake: %v", err)
	}
	if _, _, err := c.tp.ReadResponse(150); err != nil {
		c.t.Fatalf("%s: %v", command, err)
	}
	return dc
}

func (c *ftpsClient) stor(name string, content []byte) {
	c.t.Helper()
	dc := c.data("STOR " + name)
	if _, err := io.Copy(dc, bytes.NewReader(content)); err != nil {
		c.t.Fatal(err)
	}
	_ = dc.Close()
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		c.t.Fatalf("STOR %s: %v", name, err)
	}
}

func (c *ftpsClient) retr(name string) []byte {
	c.t.Helper()
	dc := c.data("RETR " + name)
	got, err := io.ReadAll(dc)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = dc.Close()
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		c.t.Fatalf("RETR %s: %v", name, err)
	}
	return got
}

func (c *ftpsClient) close() {
	_, _, _ = c.cmd("QUIT")
	_ = c.conn.Close()
}
