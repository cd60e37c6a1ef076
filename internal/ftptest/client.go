// Package ftptest is the project's FTPS test toolkit: one FTPS client
// (Conn, which returns errors, and Client, which fails the test and is
// built on it), one certificate helper (CA), one Eventually and, in
// ftptest/harness, one in-process ftpsd harness. Every read and write is
// bounded by a deadline.
package ftptest

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// Timeout bounds every connection of a Client.
const Timeout = 20 * time.Second

// Client is one control connection for a test: a Conn that fails the test
// on I/O errors. The deadline of its connections is set once, Timeout
// after they open; a test may move it with Raw.SetDeadline.
type Client struct {
	*Conn
	T       testing.TB
	Greeted int // the greeting's code
	Text    string
}

// Dial connects to addr and reads the greeting. It does not fail when the
// greeting is not 220: callers check Greeted (421 from a ban, a limit).
func Dial(t testing.TB, addr string, conf *tls.Config) *Client {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return Attach(t, addr, raw, conf)
}

// Attach uses an open connection (one that already sent a PROXY header,
// say) and reads the greeting.
func Attach(t testing.TB, addr string, raw net.Conn, conf *tls.Config) *Client {
	t.Helper()
	c := NewClient(t, addr, raw, conf)
	c.Greeted, c.Text = c.Read()
	return c
}

// NewClient uses an open connection and reads nothing; the test's cleanup
// closes it.
func NewClient(t testing.TB, addr string, raw net.Conn, conf *tls.Config) *Client {
	_ = raw.SetDeadline(time.Now().Add(Timeout))
	t.Cleanup(func() { _ = raw.Close() })
	return &Client{Conn: NewConn(addr, raw, conf, 0), T: t}
}

// Read returns one reply (all its lines) and its code.
func (c *Client) Read() (int, string) {
	c.T.Helper()
	code, text, err := c.Conn.Read()
	if err != nil {
		c.T.Fatal(err)
	}
	return code, text
}

// Send writes one command line.
func (c *Client) Send(line string) {
	c.T.Helper()
	if err := c.Conn.Send(line); err != nil {
		c.T.Fatalf("send %q: %v", redact(line), err)
	}
}

// Cmd sends a line and returns the reply.
func (c *Client) Cmd(line string) (int, string) {
	c.T.Helper()
	c.Send(line)
	return c.Read()
}

// Reply reads one reply and insists on its code.
func (c *Client) Reply(code int) string {
	c.T.Helper()
	got, text := c.Read()
	if got != code {
		c.T.Fatalf("got %q, want %d", text, code)
	}
	return text
}

// Must sends a line and insists on the reply code.
func (c *Client) Must(line string, code int) string {
	c.T.Helper()
	got, text := c.Cmd(line)
	if got != code {
		c.T.Fatalf("%s: got %q, want %d", redact(line), text, code)
	}
	return text
}

func redact(line string) string {
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		return "PASS ***"
	}
	return line
}

// StartTLS runs the control connection's handshake (after 234, or at once
// for implicit FTPS).
func (c *Client) StartTLS() tls.ConnectionState {
	c.T.Helper()
	if err := c.Conn.StartTLS(); err != nil {
		c.T.Fatal(err)
	}
	return c.TLSState()
}

// AuthTLS sends AUTH TLS and runs the handshake; it returns the connection
// state (the server certificate is in PeerCertificates).
func (c *Client) AuthTLS() tls.ConnectionState {
	c.T.Helper()
	c.Must("AUTH TLS", 234)
	return c.StartTLS()
}

// Login sends USER and PASS and insists on 230.
func (c *Client) Login(user, password string) {
	c.T.Helper()
	c.Must("USER "+user, 331)
	c.Must("PASS "+password, 230)
}

// Secure does AUTH TLS, login, PBSZ 0 and PROT P.
func (c *Client) Secure(user, password string) {
	c.T.Helper()
	c.AuthTLS()
	c.Login(user, password)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
}

// EPSV sends EPSV and returns the data address.
func (c *Client) EPSV() string {
	c.T.Helper()
	addr, err := c.Conn.EPSV()
	if err != nil {
		c.T.Fatal(err)
	}
	return addr
}

// DataAddress asks for a passive port (PASV when Passive, else EPSV).
func (c *Client) DataAddress() string {
	c.T.Helper()
	addr, err := c.Conn.DataAddress()
	if err != nil {
		c.T.Fatal(err)
	}
	return addr
}

// DialData connects to a passive port; the test's cleanup closes it. The
// TLS handshake, if any, is Wrap's, after the 150 reply.
func (c *Client) DialData(addr string) net.Conn {
	c.T.Helper()
	d, err := c.Conn.DialData(addr)
	if err != nil {
		c.T.Fatal(err)
	}
	c.T.Cleanup(func() { _ = d.Close() })
	return d
}

// Wrap runs the data connection's TLS handshake with conf (nil: clear).
func (c *Client) Wrap(d net.Conn, conf *tls.Config) (net.Conn, error) { return Wrap(d, conf) }

// Transfer runs a data command over EPSV (or PASV, see Passive). With
// protected, the data connection runs TLS with the control connection's
// configuration (so it resumes its session). upload, when not nil, is sent;
// what the server sent is returned, with the final reply.
func (c *Client) Transfer(command string, upload []byte, protected bool) ([]byte, int, string) {
	c.T.Helper()
	d := c.DialData(c.DataAddress())
	code, text := c.Cmd(command)
	if code != 150 {
		return nil, code, text
	}
	var conf *tls.Config
	if protected {
		conf = c.TLS
	}
	dc, err := Wrap(d, conf)
	if err != nil {
		code, text := c.Read()
		return nil, code, text
	}
	return c.MoveData(d, dc, upload)
}

// MoveData sends upload over the data connection dc (on the socket d) and
// closes it, or reads dc to its end when upload is nil; then it reads the
// final reply.
func (c *Client) MoveData(d, dc net.Conn, upload []byte) ([]byte, int, string) {
	c.T.Helper()
	got, err := Move(d, dc, upload)
	if err != nil {
		c.T.Fatal(err)
	}
	code, text := c.Read()
	return got, code, text
}
