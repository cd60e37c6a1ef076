// Package ftptest is a small FTPS client for tests: ftpsd's process wiring
// (cmd/ftpsd) and the end-to-end tests against the whole stack. It fails the
// test on I/O errors and bounds every read and write with a deadline.
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
	"testing"
	"time"
)

// Timeout bounds every connection of a Client.
const Timeout = 20 * time.Second

// Client is one control connection.
type Client struct {
	T       testing.TB
	Addr    string
	Raw     net.Conn
	Conn    net.Conn
	TLS     *tls.Config
	r       *bufio.Reader
	Greeted int // the greeting's code
	Text    string
	// Passive makes Transfer use PASV and connect to the address the reply
	// names (each replica of a server advertises its own) instead of EPSV
	// to the control connection's address.
	Passive bool
}

// Dial connects to addr and reads the greeting. It does not fail when the
// greeting is not 220: callers check Greeted (421 from a ban, a limit).
func Dial(t testing.TB, addr string, conf *tls.Config) *Client {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return Attach(t, addr, raw, conf)
}

// Attach uses an open connection (one that already sent a PROXY header,
// say) and reads the greeting.
func Attach(t testing.TB, addr string, raw net.Conn, conf *tls.Config) *Client {
	t.Helper()
	_ = raw.SetDeadline(time.Now().Add(Timeout))
	t.Cleanup(func() { _ = raw.Close() })
	c := &Client{T: t, Addr: addr, Raw: raw, Conn: raw, TLS: conf, r: bufio.NewReader(raw)}
	c.Greeted, c.Text = c.Read()
	return c
}

// Read returns one reply (all its lines) and its code.
func (c *Client) Read() (int, string) {
	c.T.Helper()
	code, text, err := ReadReply(c.r)
	if err != nil {
		c.T.Fatal(err)
	}
	return code, text
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

// Cmd sends a line and returns the reply.
func (c *Client) Cmd(line string) (int, string) {
	c.T.Helper()
	if _, err := io.WriteString(c.Conn, line+"\r\n"); err != nil {
		c.T.Fatalf("send %q: %v", line, err)
	}
	return c.Read()
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

// AuthTLS sends AUTH TLS and runs the handshake; it returns the connection
// state (the server certificate is in PeerCertificates).
func (c *Client) AuthTLS() tls.ConnectionState {
	c.T.Helper()
	c.Must("AUTH TLS", 234)
	tc := tls.Client(c.Raw, c.TLS)
	if err := tc.Handshake(); err != nil {
		c.T.Fatalf("TLS handshake: %v", err)
	}
	c.Conn = tc
	c.r = bufio.NewReader(tc)
	return tc.ConnectionState()
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

var (
	epsvRE = regexp.MustCompile(`\(\|\|\|(\d+)\|\)`)
	pasvRE = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
)

// dataAddress asks for a passive data port and returns where to connect.
func (c *Client) dataAddress() string {
	c.T.Helper()
	if c.Passive {
		text := c.Must("PASV", 227)
		m := pasvRE.FindStringSubmatch(text)
		if m == nil {
			c.T.Fatalf("bad PASV reply %q", text)
		}
		hi, _ := strconv.Atoi(m[5])
		lo, _ := strconv.Atoi(m[6])
		return net.JoinHostPort(strings.Join(m[1:5], "."), strconv.Itoa(hi*256+lo))
	}
	text := c.Must("EPSV", 229)
	m := epsvRE.FindStringSubmatch(text)
	if m == nil {
		c.T.Fatalf("bad EPSV reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	return net.JoinHostPort(host, m[1])
}

// Transfer runs a data command over EPSV (or PASV, see Passive). With
// protected, the data connection runs TLS with the control connection's
// configuration (so it resumes its session). upload, when not nil, is sent;
// what the server sent is returned, with the final reply.
func (c *Client) Transfer(command string, upload []byte, protected bool) ([]byte, int, string) {
	c.T.Helper()
	d, err := net.DialTimeout("tcp", c.dataAddress(), 5*time.Second)
	if err != nil {
		c.T.Fatal(err)
	}
	defer d.Close()
	_ = d.SetDeadline(time.Now().Add(Timeout))
	code, text := c.Cmd(command)
	if code != 150 {
		return nil, code, text
	}
	dc := d
	if protected {
		tc := tls.Client(d, c.TLS)
		if err := tc.Handshake(); err != nil {
			code, text := c.Read()
			return nil, code, text
		}
		dc = tc
	}
	var got []byte
	if upload != nil {
		if _, err := dc.Write(upload); err != nil {
			c.T.Fatalf("upload: %v", err)
		}
		if tc, ok := dc.(*tls.Conn); ok {
			_ = tc.CloseWrite()
		}
		_ = d.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, dc)
	} else {
		if got, err = io.ReadAll(dc); err != nil {
			c.T.Fatalf("download: %v", err)
		}
	}
	_ = dc.Close()
	code, text = c.Read()
	return got, code, text
}
