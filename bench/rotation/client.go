package main

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

// smallSize is the size of the file every load transfer downloads.
const smallSize = 4096

// ioTimeout bounds every read and write of the bench's clients.
const ioTimeout = 20 * time.Second

// ftpConn is a minimal FTPS client that returns errors instead of failing a
// test: load goroutines must count failures, not stop the run.
type ftpConn struct {
	raw  net.Conn
	conn net.Conn
	r    *bufio.Reader
	addr string
}

func dialFTP(addr string) (*ftpConn, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = raw.SetDeadline(time.Now().Add(ioTimeout))
	c := &ftpConn{raw: raw, conn: raw, r: bufio.NewReader(raw), addr: addr}
	code, text, err := ftptest.ReadReply(c.r)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if code != 220 {
		raw.Close()
		return nil, fmt.Errorf("greeting %q", text)
	}
	return c, nil
}

func (c *ftpConn) close() { _ = c.raw.Close() }

func (c *ftpConn) cmd(line string) (int, string, error) {
	_ = c.raw.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return 0, "", err
	}
	return ftptest.ReadReply(c.r)
}

func (c *ftpConn) expect(line string, want int) error {
	code, text, err := c.cmd(line)
	if err != nil {
		return fmt.Errorf("%s: %w", commandName(line), err)
	}
	if code != want {
		return fmt.Errorf("%s: %q, want %d", commandName(line), text, want)
	}
	return nil
}

// commandName keeps passwords out of error messages.
func commandName(line string) string {
	verb, _, _ := strings.Cut(line, " ")
	return verb
}

func (c *ftpConn) authTLS(conf *tls.Config) error {
	if err := c.expect("AUTH TLS", 234); err != nil {
		return err
	}
	tc := tls.Client(c.raw, conf)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("control TLS handshake: %w", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return nil
}

var epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)

// retr downloads name over an EPSV data connection that resumes the control
// connection's TLS session (conf holds its session cache).
func (c *ftpConn) retr(name string, conf *tls.Config) ([]byte, error) {
	code, text, err := c.cmd("EPSV")
	if err != nil || code != 229 {
		return nil, fmt.Errorf("EPSV: %q %v", text, err)
	}
	m := epsvRE.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("EPSV: bad reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.addr)
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, m[1]), 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	_ = d.SetDeadline(time.Now().Add(ioTimeout))
	if code, text, err = c.cmd("RETR " + name); err != nil || code != 150 {
		return nil, fmt.Errorf("RETR: %q %v", text, err)
	}
	tc := tls.Client(d, conf)
	data, readErr := io.ReadAll(tc)
	code, text, err = ftptest.ReadReply(c.r)
	switch {
	case readErr != nil:
		return nil, fmt.Errorf("RETR data: %w (reply %q)", readErr, text)
	case err != nil:
		return nil, err
	case code != 226:
		return nil, fmt.Errorf("RETR: %q", text)
	}
	return data, nil
}
