package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

func proxyEnv(t *testing.T, trusted string, mutate func(*config.Config)) *testEnv {
	t.Helper()
	return newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.ProxyProtocol = config.ProxyProtocol{Enabled: true, TrustedCIDRs: []string{trusted}}
		if mutate != nil {
			mutate(c)
		}
	}})
}

// writeProxyHeader sends a PROXY header (v1 or v2) claiming src.
func writeProxyHeader(t testing.TB, conn net.Conn, version byte, src string) {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version,
		&net.TCPAddr{IP: net.ParseIP(src), Port: 40000},
		conn.RemoteAddr())
	if _, err := h.WriteTo(conn); err != nil {
		t.Fatal(err)
	}
}

// dialProxy connects, sends a PROXY header and returns the client with the
// greeting read.
func (e *testEnv) dialProxy(version byte, src string) (*client, int, string) {
	e.t.Helper()
	raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
	writeProxyHeader(e.t, raw, version, src)
	c := e.newClient(e.t, raw)
	line, err := c.R.ReadString('\n')
	if err != nil {
		return c, 0, err.Error()
	}
	code := 0
	if len(line) >= 3 {
		code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	}
	return c, code, line
}

// proxiedTransfer runs a RETR whose data connection also comes through the
// proxy, claiming src.
func (c *client) proxiedTransfer(version byte, command, src string) ([]byte, int, string) {
	c.T.Helper()
	d := c.DialData(c.EPSV())
	writeProxyHeader(c.T, d, version, src)
	code, text := c.Cmd(command)
	if code != 150 {
		return nil, code, text
	}
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		code, text := c.Read()
		return nil, code, text
	}
	buf := make([]byte, 1<<16)
	n, _ := readFull(dc, buf)
	_ = dc.Close()
	code, text = c.Read()
	return buf[:n], code, text
}

func readFull(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// From a trusted proxy, v1 and v2 headers give the real client address: it
// is the one STAT shows and the one the data connection must come from.
func TestProxyProtocolTrusted(t *testing.T) {
	e := proxyEnv(t, "127.0.0.0/8", nil)
	e.writeFile("f", []byte("through the proxy"))
	for _, v := range []byte{1, 2} {
		c, code, line := e.dialProxy(v, "203.0.113.7")
		if code != 220 {
			t.Fatalf("v%d: greeting %q", v, line)
		}
		c.secure()
		if text := c.Must("STAT", 211); !strings.Contains(text, "Connected from 203.0.113.7") {
			t.Fatalf("v%d: STAT: %q", v, text)
		}
		got, code, text := c.proxiedTransfer(v, "RETR f", "203.0.113.7")
		mustCode(t, "RETR", code, text, 226)
		if string(got) != "through the proxy" {
			t.Fatalf("v%d: got %q", v, got)
		}
		// A data connection claiming another client is a foreign address:
		// dropped, and the transfer waits for the right one.
		d := c.DialData(c.EPSV())
		writeProxyHeader(t, d, v, "198.51.100.9")
		good := c.DialData(d.RemoteAddr().String())
		writeProxyHeader(t, good, v, "203.0.113.7")
		c.Must("RETR f", 150)
		dc, err := c.Wrap(good, c.TLS)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, _ := readFull(dc, buf)
		c.Reply(226)
		if string(buf[:n]) != "through the proxy" {
			t.Fatalf("v%d: got %q", v, buf[:n])
		}
		if _, err := d.Read(buf); err == nil {
			t.Fatalf("v%d: the foreign data connection was served", v)
		}
	}
	// From a trusted peer, a connection without a header is refused.
	raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = raw.Write([]byte("USER alice\r\n"))
	if line, err := bufioReadLine(raw); err == nil && strings.HasPrefix(line, "220") {
		t.Fatalf("a trusted peer without a PROXY header was served: %q", line)
	}
}

// Limits and bans apply to the real client address, not the proxy's.
func TestProxyProtocolLimitsAndBans(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOpt{now: clock.Now, mutate: func(c *config.Config) {
		c.ProxyProtocol = config.ProxyProtocol{Enabled: true, TrustedCIDRs: []string{"127.0.0.1/32"}}
		c.Limits.MaxSessionsPerIP = 1
		c.Limits.MaxLoginFailures = 1
	}})
	a, code, _ := e.dialProxy(2, "203.0.113.7")
	if code != 220 {
		t.Fatal("first session refused")
	}
	if _, code, line := e.dialProxy(1, "203.0.113.7"); code != 421 {
		t.Fatalf("second session from the same client: %q", line)
	}
	b, code, line := e.dialProxy(1, "203.0.113.8")
	if code != 220 {
		t.Fatalf("session from another client: %q", line)
	}
	b.AuthTLS()
	b.Must("USER "+testUser, 331)
	b.Must("PASS wrong", 421) // banned
	if _, code, line := e.dialProxy(2, "203.0.113.8"); code != 421 || !strings.Contains(line, "banned") {
		t.Fatalf("banned client: %q", line)
	}
	a.AuthTLS()
	a.login() // the proxy's own address is not banned
}

// From an untrusted address, a PROXY header is refused (nobody else may
// speak for a client); a plain connection is served as usual.
func TestProxyProtocolUntrusted(t *testing.T) {
	e := proxyEnv(t, "10.0.0.0/8", nil)
	for _, v := range []byte{1, 2} {
		if _, code, line := e.dialProxy(v, "203.0.113.7"); code == 220 {
			t.Fatalf("v%d header from an untrusted peer accepted: %q", v, line)
		}
	}
	c := e.dial(false)
	c.secure()
	if text := c.Must("STAT", 211); !strings.Contains(text, "Connected from 127.0.0.1") {
		t.Fatalf("STAT: %q", text)
	}
	_, code, text := c.Transfer("STOR plain", []byte("plain"), true)
	mustCode(t, "STOR", code, text, 226)
}

// Implicit FTPS: the PROXY header comes before the TLS handshake; from an
// untrusted peer the ClientHello itself shows there is no header.
func TestProxyProtocolImplicit(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		cidr := "10.0.0.0/8"
		if trusted {
			cidr = "127.0.0.0/8"
		}
		e := newEnv(t, envOpt{implicit: true, mutate: func(c *config.Config) {
			c.ProxyProtocol = config.ProxyProtocol{Enabled: true, TrustedCIDRs: []string{cidr}}
		}})
		raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.SetDeadline(time.Now().Add(20 * time.Second))
		if trusted {
			writeProxyHeader(t, raw, 2, "203.0.113.9")
		}
		c := e.newClient(t, raw)
		tc := tls.Client(raw, c.TLS)
		if err := tc.Handshake(); err != nil {
			t.Fatalf("trusted=%v: %v", trusted, err)
		}
		c.Ctl = tc
		c.R = bufio.NewReader(tc)
		c.Reply(220)
		c.login()
		want := "Connected from 127.0.0.1"
		if trusted {
			want = "Connected from 203.0.113.9"
		}
		if text := c.Must("STAT", 211); !strings.Contains(text, want) {
			t.Fatalf("trusted=%v: STAT %q", trusted, text)
		}
		_ = raw.Close()
	}
}

// proxiedData runs a data command whose data connection comes through the
// proxy, claiming src. A clear upload goes out in the same write as the
// PROXY header, so that the server reads its first bytes along with the
// header; a download returns what arrived.
func (c *client) proxiedData(version byte, command, src string, upload []byte, protected bool) ([]byte, int, string) {
	c.T.Helper()
	d := c.DialData(c.EPSV())
	h := proxyproto.HeaderProxyFromAddrs(version, &net.TCPAddr{IP: net.ParseIP(src), Port: 40000}, d.RemoteAddr())
	head, err := h.Format()
	if err != nil {
		c.T.Fatal(err)
	}
	code, text := c.Cmd(command)
	if code != 150 {
		return nil, code, text
	}
	dc := d
	if protected || upload == nil {
		if _, err := d.Write(head); err != nil {
			c.T.Fatal(err)
		}
		head = nil
	}
	if protected {
		if dc, err = c.Wrap(d, c.TLS); err != nil {
			code, text := c.Read()
			return nil, code, text
		}
	}
	if upload != nil {
		upload = append(head, upload...)
	}
	return c.MoveData(d, dc, upload)
}

// Behind a PROXY protocol proxy, clear and TLS transfers of megabytes keep
// every byte both ways. The data path bypasses the PROXY layer for writes
// (sendfile) and socket options (clearTCP), never for reads: the layer may
// have read data along with the header.
func TestProxyProtocolLargeTransfers(t *testing.T) {
	e := proxyEnv(t, "127.0.0.0/8", func(c *config.Config) { c.Policy.Data.Protection = config.ProtectionClientChoice })
	want := randomBytes(t, 3<<20+777)
	for _, v := range []byte{1, 2} {
		for _, prot := range []string{"C", "P"} {
			c, code, line := e.dialProxy(v, "203.0.113.7")
			if code != 220 {
				t.Fatalf("v%d: greeting %q", v, line)
			}
			c.secure()
			c.Must("TYPE I", 200)
			c.Must("PROT "+prot, 200)
			name := fmt.Sprintf("up-v%d-%s", v, prot)
			_, code, text := c.proxiedData(v, "STOR "+name, "203.0.113.7", want, prot == "P")
			mustCode(t, "STOR "+name, code, text, 226)
			if stored, err := e.readFile(name); err != nil || !bytes.Equal(stored, want) {
				t.Fatalf("STOR %s: stored %d bytes (%v), want the %d sent", name, len(stored), err, len(want))
			}
			got, code, text := c.proxiedData(v, "RETR "+name, "203.0.113.7", nil, prot == "P")
			mustCode(t, "RETR "+name, code, text, 226)
			if !bytes.Equal(got, want) {
				t.Fatalf("RETR %s: got %d bytes that differ from the %d stored", name, len(got), len(want))
			}
		}
	}
}
