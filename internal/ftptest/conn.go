package ftptest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"
)

// Conn is an FTPS control connection for load generators (the soak, the
// rotation bench). Unlike Client it returns errors instead of failing a
// test: a session counts its failures and goes on.
type Conn struct {
	raw     net.Conn
	ctl     net.Conn // raw, then the TLS connection over it
	r       *bufio.Reader
	addr    string
	tls     *tls.Config // also for the data connections, which resume its session
	timeout time.Duration
}

// ReplyError is a reply with another code than the one expected.
type ReplyError struct {
	Line string
	Code int
	Text string
}

func (e *ReplyError) Error() string { return fmt.Sprintf("%s: reply %q", Verb(e.Line), e.Text) }

// Verb keeps arguments (and passwords) out of error texts and error kinds.
func Verb(line string) string {
	v, _, _ := strings.Cut(line, " ")
	return v
}

// DialConn connects and insists on the 220 greeting. timeout bounds the
// dial and every later read and write.
func DialConn(addr string, conf *tls.Config, timeout time.Duration) (*Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &Conn{raw: raw, ctl: raw, r: bufio.NewReader(raw), addr: addr, tls: conf, timeout: timeout}
	code, text, err := c.Read()
	if err == nil && code != 220 {
		err = &ReplyError{Line: "greeting", Code: code, Text: text}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// AuthTLS sends AUTH TLS and runs the control connection's handshake.
func (c *Conn) AuthTLS() error {
	if _, err := c.Expect("AUTH TLS", 234); err != nil {
		return err
	}
	tc := tls.Client(c.raw, c.tls)
	_ = c.raw.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("control TLS handshake: %w", err)
	}
	c.ctl, c.r = tc, bufio.NewReader(tc)
	return nil
}

// TLSState is the control connection's TLS state (after AuthTLS).
func (c *Conn) TLSState() tls.ConnectionState {
	if tc, ok := c.ctl.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// Login, after AuthTLS, logs in and sets PBSZ 0, PROT P and TYPE I: a
// session ready for protected transfers.
func (c *Conn) Login(user, password string) error {
	for _, step := range []struct {
		line string
		code int
	}{{"USER " + user, 331}, {"PASS " + password, 230}, {"PBSZ 0", 200}, {"PROT P", 200}, {"TYPE I", 200}} {
		if _, err := c.Expect(step.line, step.code); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) Close() { _ = c.raw.Close() }

// Quit ends the session politely, whatever the server answers.
func (c *Conn) Quit() {
	_, _, _ = c.Cmd("QUIT")
	c.Close()
}

// Send writes one command line.
func (c *Conn) Send(line string) error {
	_ = c.raw.SetDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.ctl, line+"\r\n")
	return err
}

// Read reads one reply.
func (c *Conn) Read() (int, string, error) {
	_ = c.raw.SetDeadline(time.Now().Add(c.timeout))
	return ReadReply(c.r)
}

// Cmd sends a line and reads its reply.
func (c *Conn) Cmd(line string) (int, string, error) {
	if err := c.Send(line); err != nil {
		return 0, "", err
	}
	return c.Read()
}

// Expect sends line and insists on the reply code; another code is a
// *ReplyError.
func (c *Conn) Expect(line string, want int) (string, error) {
	code, text, err := c.Cmd(line)
	if err != nil {
		return "", fmt.Errorf("%s: %w", Verb(line), err)
	}
	if code != want {
		return text, &ReplyError{Line: line, Code: code, Text: text}
	}
	return text, nil
}

var epsvPort = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// openData sends EPSV and connects to the port it names.
func (c *Conn) openData() (*net.TCPConn, error) {
	text, err := c.Expect("EPSV", 229)
	if err != nil {
		return nil, err
	}
	m := epsvPort.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("EPSV: bad reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.addr)
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, m[1]), c.timeout)
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}
	_ = d.SetDeadline(time.Now().Add(c.timeout))
	return d.(*net.TCPConn), nil
}

// StartData opens a data connection, sends the data command and, after its
// 150, runs the TLS handshake that must resume this control connection's
// session. A reply other than 150 is returned as a *ReplyError.
func (c *Conn) StartData(line string) (*net.TCPConn, *tls.Conn, error) {
	d, err := c.openData()
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Expect(line, 150); err != nil {
		_ = d.Close()
		return nil, nil, err
	}
	tc := tls.Client(d, c.tls)
	if err := tc.Handshake(); err != nil {
		_ = d.Close()
		_, text, _ := c.Read()
		return nil, nil, fmt.Errorf("%s: data TLS handshake: %w (reply %q)", Verb(line), err, text)
	}
	if !tc.ConnectionState().DidResume {
		_ = d.Close()
		_, _, _ = c.Read()
		return nil, nil, fmt.Errorf("%s: data connection did not resume the TLS session", Verb(line))
	}
	return d, tc, nil
}

// Finish closes a data connection after an upload (close_notify, then FIN)
// or a download, and insists on 226.
func (c *Conn) Finish(line string, d *net.TCPConn, tc *tls.Conn, upload bool) error {
	if upload {
		_ = tc.CloseWrite()
		_ = d.CloseWrite()
		_, _ = io.Copy(io.Discard, tc)
	}
	_ = d.Close()
	code, text, err := c.Read()
	if err != nil {
		return fmt.Errorf("%s: final reply: %w", Verb(line), err)
	}
	if code != 226 {
		return &ReplyError{Line: line, Code: code, Text: text}
	}
	return nil
}

// Retr downloads name whole.
func (c *Conn) Retr(name string) ([]byte, error) {
	line := "RETR " + name
	d, tc, err := c.StartData(line)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(tc)
	if err != nil {
		_ = d.Close()
		_, text, _ := c.Read()
		return nil, fmt.Errorf("RETR data: %w (reply %q)", err, text)
	}
	return data, c.Finish(line, d, tc, false)
}
