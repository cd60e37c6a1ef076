package clients

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// Open connects to a server of the stack through addr, runs AUTH TLS
// verifying the certificate against caFile for serverName, and returns the
// session (its data connections use PASV, where each replica names its own
// address, and resume the control connection's TLS session) and the hex
// serial number of the certificate the server presented.
func Open(t testing.TB, addr, serverName, caFile string) (*ftptest.Client, string) {
	t.Helper()
	conf, err := TLSConfig(caFile, serverName)
	if err != nil {
		t.Fatal(err)
	}
	c := ftptest.Dial(t, addr, conf)
	if c.Greeted != 220 {
		t.Fatalf("greeting: %s", c.Text)
	}
	c.Passive = true
	// Sessions here may outlive ftptest's per-connection bound (a
	// certificate renewal happens in the middle of one).
	_ = c.Raw.SetDeadline(time.Now().Add(2 * time.Minute))
	state := c.AuthTLS()
	return c, state.PeerCertificates[0].SerialNumber.Text(16)
}

// TLSConfig trusts the CA in caFile, checks serverName and caches TLS
// sessions, so that data connections can resume the control connection's.
func TLSConfig(caFile, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: serverName, ClientSessionCache: tls.NewLRUClientSessionCache(4), MinVersion: tls.VersionTLS12}, nil
}

// LoginCode sends USER and PASS and returns PASS's reply code; after 230
// it also protects the data connections (PBSZ 0, PROT P) in binary mode.
func LoginCode(c *ftptest.Client, user, password string) int {
	c.T.Helper()
	c.Must("USER "+user, 331)
	code, _ := c.Cmd("PASS " + password)
	if code == 230 {
		c.Must("PBSZ 0", 200)
		c.Must("PROT P", 200)
		c.Must("TYPE I", 200)
	}
	return code
}

// RoundTrip uploads content as name and reads it back in the same session.
func RoundTrip(c *ftptest.Client, name string, content []byte) {
	c.T.Helper()
	if _, code, text := c.Transfer("STOR "+name, content, true); code != 226 {
		c.T.Fatalf("STOR %s: %s", name, text)
	}
	got, code, text := c.Transfer("RETR "+name, nil, true)
	if code != 226 {
		c.T.Fatalf("RETR %s: %s", name, text)
	}
	if !bytes.Equal(got, content) {
		c.T.Fatalf("RETR %s: %d bytes back, want the %d sent", name, len(got), len(content))
	}
}
