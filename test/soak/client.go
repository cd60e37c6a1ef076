package soak

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// conn is one FTPS control connection of a soak client. Unlike
// ftptest.Client it returns errors instead of failing a test: a session
// counts its failures and goes on.
type conn struct {
	raw     net.Conn
	ctl     net.Conn // raw, then the TLS connection over it
	r       *bufio.Reader
	addr    string
	tls     *tls.Config // with this connection's own session cache
	timeout time.Duration
}

// errReply is a reply with another code than the one expected.
type errReply struct {
	line string
	code int
	text string
}

func (e *errReply) Error() string { return fmt.Sprintf("%s: reply %q", verb(e.line), e.text) }

// verb keeps arguments (and passwords) out of error texts and error kinds.
func verb(line string) string {
	v, _, _ := strings.Cut(line, " ")
	return v
}

// dial connects, reads the greeting, runs AUTH TLS, logs in and sets
// PBSZ 0, PROT P and TYPE I: a session ready for protected transfers.
func dial(addr, user string, conf *tls.Config, timeout time.Duration) (*conn, error) {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := &conn{raw: raw, ctl: raw, r: bufio.NewReader(raw), addr: addr, tls: conf, timeout: timeout}
	_ = raw.SetDeadline(time.Now().Add(timeout))
	code, text, err := ftptest.ReadReply(c.r)
	if err == nil && code != 220 {
		err = &errReply{line: "greeting", code: code, text: text}
	}
	if err == nil {
		err = c.login(user)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *conn) login(user string) error {
	if _, err := c.expect("AUTH TLS", 234); err != nil {
		return err
	}
	tc := tls.Client(c.raw, c.tls)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("control TLS handshake: %w", err)
	}
	c.ctl, c.r = tc, bufio.NewReader(tc)
	for _, step := range []struct {
		line string
		code int
	}{{"USER " + user, 331}, {"PASS " + password, 230}, {"PBSZ 0", 200}, {"PROT P", 200}, {"TYPE I", 200}} {
		if _, err := c.expect(step.line, step.code); err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) close() { _ = c.raw.Close() }

// quit ends the session politely; its errors do not matter to the soak.
func (c *conn) quit() {
	_, _, _ = c.cmd("QUIT")
	c.close()
}

func (c *conn) send(line string) error {
	_ = c.raw.SetDeadline(time.Now().Add(c.timeout))
	_, err := io.WriteString(c.ctl, line+"\r\n")
	return err
}

func (c *conn) read() (int, string, error) {
	_ = c.raw.SetDeadline(time.Now().Add(c.timeout))
	return ftptest.ReadReply(c.r)
}

func (c *conn) cmd(line string) (int, string, error) {
	if err := c.send(line); err != nil {
		return 0, "", err
	}
	return c.read()
}

// expect sends line and insists on the reply code.
func (c *conn) expect(line string, want int) (string, error) {
	code, text, err := c.cmd(line)
	if err != nil {
		return "", fmt.Errorf("%s: %w", verb(line), err)
	}
	if code != want {
		return text, &errReply{line: line, code: code, text: text}
	}
	return text, nil
}

var epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// openData sends EPSV and connects to the port it names.
func (c *conn) openData() (*net.TCPConn, error) {
	text, err := c.expect("EPSV", 229)
	if err != nil {
		return nil, err
	}
	m := epsvRE.FindStringSubmatch(text)
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

// startData opens a data connection, sends the data command and, after its
// 150, runs the TLS handshake that resumes this control connection's session.
// A reply other than 150 is returned as an *errReply.
func (c *conn) startData(line string) (*net.TCPConn, *tls.Conn, error) {
	d, err := c.openData()
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.expect(line, 150); err != nil {
		_ = d.Close()
		return nil, nil, err
	}
	tc := tls.Client(d, c.tls)
	if err := tc.Handshake(); err != nil {
		_ = d.Close()
		_, text, _ := c.read()
		return nil, nil, fmt.Errorf("%s: data TLS handshake: %w (reply %q)", verb(line), err, text)
	}
	if !tc.ConnectionState().DidResume {
		_ = d.Close()
		_, _, _ = c.read()
		return nil, nil, fmt.Errorf("%s: data connection did not resume the TLS session", verb(line))
	}
	return d, tc, nil
}

// finish closes a data connection after an upload (close_notify, then FIN)
// or a download, and reads the final reply.
func (c *conn) finish(line string, d *net.TCPConn, tc *tls.Conn, upload bool) error {
	if upload {
		_ = tc.CloseWrite()
		_ = d.CloseWrite()
		_, _ = io.Copy(io.Discard, tc)
	}
	_ = d.Close()
	code, text, err := c.read()
	if err != nil {
		return fmt.Errorf("%s: final reply: %w", verb(line), err)
	}
	if code != 226 {
		return &errReply{line: line, code: code, text: text}
	}
	return nil
}
