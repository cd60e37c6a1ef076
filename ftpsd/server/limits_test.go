package server

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// data.requireSameAddress: false: a data connection from another address
// of the client (here 127.0.0.2) is served.
func TestRequireSameAddressOff(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		off := false
		c.Policy.Data.RequireSameAddress = &off
	}})
	e.writeFile("f", []byte("from elsewhere"))
	c := e.dial(false)
	c.secure()
	addr := c.EPSV()
	d, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial from 127.0.0.2: %v (the tests need the whole 127.0.0.0/8 on loopback)", err)
	}
	defer d.Close()
	_ = d.SetDeadline(time.Now().Add(10 * time.Second))
	c.Must("RETR f", 150)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dc)
	c.Reply(226)
	if string(got) != "from elsewhere" {
		t.Fatalf("got %q", got)
	}
}

// limits.dataTimeout: no data connection in time: 425, and a STOR over an
// existing file leaves it as it was.
func TestDataTimeout(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.DataTimeout.Duration = 300 * time.Millisecond }})
	e.writeFile("keep", []byte("original"))
	c := e.dial(false)
	c.secure()
	c.EPSV()
	c.Must("STOR keep", 150)
	c.Reply(425)
	if b, err := e.readFile("keep"); err != nil || string(b) != "original" {
		t.Fatalf("file changed: %q %v", b, err)
	}
	if names := listDirNames(t, e.home()); len(names) != 1 {
		t.Fatalf("leftovers: %v", names)
	}
	c.Must("NOOP", 200)
}

// tls.minVersion: "1.2" (the default) accepts a TLS 1.2 client on control
// and data connections.
func TestTLSMinVersion12(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.TLS = e.tlsConfig(tls.VersionTLS12)
	c.secure()
	if v := c.Ctl.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS12 {
		t.Fatalf("version %x", v)
	}
	_, code, text := c.Transfer("STOR v12", []byte("1.2"), true)
	mustCode(t, "STOR", code, text, 226)
	if b, err := e.readFile("v12"); err != nil || string(b) != "1.2" {
		t.Fatalf("file: %q %v", b, err)
	}
}
