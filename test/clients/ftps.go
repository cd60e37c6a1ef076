package clients

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

// FTPS is a small explicit-FTPS client for the tests that need to
// hold a session open across a change (rotation, policy, users). Its data
// connections resume the control connection's TLS session.
type FTPS struct {
	t    testing.TB
	Conn *tls.Conn
	tp   *textproto.Conn
	cfg  *tls.Config
}

// Dial connects to addr, reads the greeting and runs AUTH TLS,
// verifying the certificate against caFile for serverName.
func Dial(t testing.TB, addr, serverName, caFile string) (*FTPS, error) {
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
	return &FTPS{t: t, Conn: conn, tp: textproto.NewConn(conn), cfg: cfg}, nil
}

// Serial is the hex serial number of the server's certificate.
func (c *FTPS) Serial() string {
	return c.Conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16)
}

// Cmd sends a command and returns the reply's code and text.
func (c *FTPS) Cmd(format string, args ...any) (int, string, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(time.Minute))
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

// Must sends a command and fails the test unless the reply has code want.
func (c *FTPS) Must(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg, err := c.Cmd(format, args...)
	if err != nil || code != want {
		c.t.Fatalf("%s: got %d %s (%v), want %d", fmt.Sprintf(format, args...), code, msg, err, want)
	}
	return msg
}

// Login logs in and protects data connections; it returns the PASS reply code.
func (c *FTPS) Login(user, password string) int {
	c.t.Helper()
	c.Must(331, "USER %s", user)
	code, msg, err := c.Cmd("PASS %s", password)
	if err != nil {
		c.t.Fatalf("PASS: %v", err)
	}
	if code == 230 {
		c.Must(200, "PBSZ 0")
		c.Must(200, "PROT P")
		c.Must(200, "TYPE I")
	} else {
		c.t.Logf("PASS: %d %s", code, msg)
	}
	return code
}

// Data opens a passive data connection for a command, wrapped in TLS that
// resumes the control session; it returns the connection and waits for 150.
func (c *FTPS) Data(command string) *tls.Conn {
	c.t.Helper()
	msg := c.Must(227, "PASV")
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

// Stor uploads content as name.
func (c *FTPS) Stor(name string, content []byte) {
	c.t.Helper()
	dc := c.Data("STOR " + name)
	if _, err := io.Copy(dc, bytes.NewReader(content)); err != nil {
		c.t.Fatal(err)
	}
	_ = dc.Close()
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		c.t.Fatalf("STOR %s: %v", name, err)
	}
}

// Retr downloads name.
func (c *FTPS) Retr(name string) []byte {
	c.t.Helper()
	dc := c.Data("RETR " + name)
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

// Close quits and closes the control connection.
func (c *FTPS) Close() {
	_, _, _ = c.Cmd("QUIT")
	_ = c.Conn.Close()
}
