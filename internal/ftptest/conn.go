package ftptest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Conn is an FTPS control connection that returns errors instead of
// failing a test: the load generators (the soak, the rotation bench) count
// a session's failures and go on. Client, for tests, is built on it: this
// is the one implementation of reply reading, AUTH TLS, login, PASV/EPSV,
// the data connection and TLS on it.
type Conn struct {
	Addr string   // where the control connection goes (EPSV's host)
	Raw  net.Conn // the TCP connection
	Ctl  net.Conn // Raw, then the TLS connection over it
	R    *bufio.Reader
	// TLS is the client configuration, also the data connections' (which
	// resume the control connection's session).
	TLS *tls.Config
	// Timeout, when set, bounds every read and write from the time it
	// starts (a rolling deadline) and every dial; when zero, the deadline
	// set on Raw by the caller stands and dials are bounded by DialTimeout.
	Timeout time.Duration
	// Passive makes data connections use PASV and connect to the address
	// the reply names (each replica of a server advertises its own)
	// instead of EPSV to the control connection's host.
	Passive bool
}

// DialTimeout bounds dials when Conn.Timeout is zero.
const DialTimeout = 5 * time.Second

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

// NewConn uses an open connection; it reads nothing.
func NewConn(addr string, raw net.Conn, conf *tls.Config, timeout time.Duration) *Conn {
	return &Conn{Addr: addr, Raw: raw, Ctl: raw, R: bufio.NewReader(raw), TLS: conf, Timeout: timeout}
}

// DialConn connects and insists on the 220 greeting. timeout bounds the
// dial and every later read and write.
func DialConn(addr string, conf *tls.Config, timeout time.Duration) (*Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c := NewConn(addr, raw, conf, timeout)
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

func (c *Conn) deadline() {
	if c.Timeout > 0 {
		_ = c.Raw.SetDeadline(time.Now().Add(c.Timeout))
	}
}

func (c *Conn) dialTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DialTimeout
}

// Use makes conn the control connection (a TLS connection over Raw, or Raw
// again after a CCC) and reads the replies from it.
func (c *Conn) Use(conn net.Conn) {
	c.Ctl, c.R = conn, bufio.NewReader(conn)
}

// StartTLS runs the control connection's TLS handshake (after 234).
func (c *Conn) StartTLS() error {
	tc := tls.Client(c.Raw, c.TLS)
	c.deadline()
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("control TLS handshake: %w", err)
	}
	c.Use(tc)
	return nil
}

// AuthTLS sends AUTH TLS and runs the control connection's handshake.
func (c *Conn) AuthTLS() error {
	if _, err := c.Expect("AUTH TLS", 234); err != nil {
		return err
	}
	return c.StartTLS()
}

// TLSState is the control connection's TLS state (after AuthTLS).
func (c *Conn) TLSState() tls.ConnectionState {
	if tc, ok := c.Ctl.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// User sends USER and PASS and insists on 331 then 230.
func (c *Conn) User(user, password string) error {
	if _, err := c.Expect("USER "+user, 331); err != nil {
		return err
	}
	_, err := c.Expect("PASS "+password, 230)
	return err
}

// Login, after AuthTLS, logs in and sets PBSZ 0, PROT P and TYPE I: a
// session ready for protected transfers.
func (c *Conn) Login(user, password string) error {
	if err := c.User(user, password); err != nil {
		return err
	}
	for _, line := range []string{"PBSZ 0", "PROT P", "TYPE I"} {
		if _, err := c.Expect(line, 200); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) Close() { _ = c.Raw.Close() }

// Quit ends the session politely, whatever the server answers.
func (c *Conn) Quit() {
	_, _, _ = c.Cmd("QUIT")
	c.Close()
}

// Send writes one command line.
func (c *Conn) Send(line string) error {
	c.deadline()
	_, err := io.WriteString(c.Ctl, line+"\r\n")
	return err
}

// Read reads one reply.
func (c *Conn) Read() (int, string, error) {
	c.deadline()
	return ReadReply(c.R)
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

// ReadReply reads one reply, all the lines of a multi-line one (RFC 959
// section 4.2), and returns its code and its full text.
func ReadReply(r *bufio.Reader) (int, string, error) {
	var all []string
	first := ""
	for range 100000 {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, "", fmt.Errorf("reading reply: %w (so far %q)", err, all)
		}
		line = strings.TrimRight(line, "\r\n")
		all = append(all, line)
		if len(line) < 4 {
			if first == "" {
				return 0, "", fmt.Errorf("short reply line %q", line)
			}
			continue
		}
		if first == "" {
			first = line[:3]
			if line[3] == ' ' {
				break
			}
			continue
		}
		if line[:3] == first && line[3] == ' ' {
			break
		}
	}
	code, err := strconv.Atoi(first)
	if err != nil {
		return 0, "", fmt.Errorf("bad reply %q", all)
	}
	return code, strings.Join(all, "\n"), nil
}

var (
	epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
	pasvRE = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
)

// EPSV sends EPSV and returns the data address: the control connection's
// host and the port the reply names.
func (c *Conn) EPSV() (string, error) {
	text, err := c.Expect("EPSV", 229)
	if err != nil {
		return "", err
	}
	m := epsvRE.FindStringSubmatch(text)
	if m == nil {
		return "", fmt.Errorf("EPSV: bad reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	return net.JoinHostPort(host, m[1]), nil
}

// PASV sends PASV and returns the address the reply names.
func (c *Conn) PASV() (string, error) {
	text, err := c.Expect("PASV", 227)
	if err != nil {
		return "", err
	}
	m := pasvRE.FindStringSubmatch(text)
	if m == nil {
		return "", fmt.Errorf("PASV: bad reply %q", text)
	}
	hi, _ := strconv.Atoi(m[5])
	lo, _ := strconv.Atoi(m[6])
	return net.JoinHostPort(strings.Join(m[1:5], "."), strconv.Itoa(hi*256+lo)), nil
}

// DataAddress asks for a passive data port (PASV when Passive, else EPSV)
// and returns where to connect.
func (c *Conn) DataAddress() (string, error) {
	if c.Passive {
		return c.PASV()
	}
	return c.EPSV()
}

// DialData connects to a passive data port; the connection's deadline is
// Timeout (or the package's Timeout when that is zero).
func (c *Conn) DialData(addr string) (*net.TCPConn, error) {
	d, err := net.DialTimeout("tcp", addr, c.dialTimeout())
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}
	bound := c.Timeout
	if bound == 0 {
		bound = Timeout
	}
	_ = d.SetDeadline(time.Now().Add(bound))
	return d.(*net.TCPConn), nil
}

// Wrap runs the data connection's TLS handshake with conf; with a nil conf
// the connection stays clear.
func Wrap(d net.Conn, conf *tls.Config) (net.Conn, error) {
	if conf == nil {
		return d, nil
	}
	tc := tls.Client(d, conf)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}

// Move sends upload over the data connection dc (on the socket d), then
// close_notify and FIN, and drains it; with a nil upload it reads dc to
// its end. It closes dc.
func Move(d, dc net.Conn, upload []byte) ([]byte, error) {
	defer func() { _ = dc.Close() }()
	if upload == nil {
		got, err := io.ReadAll(dc)
		if err != nil {
			return got, fmt.Errorf("download: %w", err)
		}
		return got, nil
	}
	if _, err := dc.Write(upload); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	if tc, ok := dc.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if tc, ok := d.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, dc)
	return nil, nil
}

// StartData opens a data connection, sends the data command and, after its
// 150, runs the TLS handshake that must resume this control connection's
// session. A reply other than 150 is returned as a *ReplyError.
func (c *Conn) StartData(line string) (*net.TCPConn, *tls.Conn, error) {
	addr, err := c.DataAddress()
	if err != nil {
		return nil, nil, err
	}
	d, err := c.DialData(addr)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Expect(line, 150); err != nil {
		_ = d.Close()
		return nil, nil, err
	}
	dc, err := Wrap(d, c.TLS)
	if err != nil {
		_ = d.Close()
		_, text, _ := c.Read()
		return nil, nil, fmt.Errorf("%s: data TLS handshake: %w (reply %q)", Verb(line), err, text)
	}
	tc := dc.(*tls.Conn)
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
