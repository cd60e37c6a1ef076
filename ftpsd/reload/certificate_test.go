package reload

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func serialOf(c *CertificateSource) int64 { return c.Leaf().SerialNumber.Int64() }

// handshakeSerial does a real TLS handshake against a server using src and
// returns the serial the client was shown.
func handshakeSerial(t *testing.T, src *CertificateSource) int64 {
	t.Helper()
	cConn, sConn := net.Pipe()
	defer cConn.Close()
	defer sConn.Close()
	server := tls.Server(sConn, &tls.Config{GetCertificate: src.GetCertificate, MinVersion: tls.VersionTLS12})
	go func() { _ = server.Handshake() }()
	client := tls.Client(cConn, &tls.Config{InsecureSkipVerify: true, ServerName: "ftps.example.test"})
	_ = cConn.SetDeadline(time.Now().Add(waitTimeout))
	if err := client.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return client.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertificateSourceServesNewSerialAfterSwap(t *testing.T) {
	k := newKubeletDir(t, newTestPair(t, 1).files())
	var errs errorLog
	var callbacks atomic.Int32
	src, err := NewCertificateSource(k.path("tls.crt"), k.path("tls.key"),
		WithPollInterval(0), WithErrorHandler(errs.handle),
		WithCertificateCallback(func(*CertificateSource) { callbacks.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	if got := serialOf(src); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	if got := handshakeSerial(t, src); got != 1 {
		t.Fatalf("handshake served serial %d, want 1", got)
	}
	start(t, src.Start)

	k.swap(newTestPair(t, 2).files())
	waitFor(t, "serial 2", func() bool { return serialOf(src) == 2 })
	if got := handshakeSerial(t, src); got != 2 {
		t.Errorf("handshake after swap served serial %d, want 2", got)
	}
	cert, _ := src.GetCertificate(nil)
	if cert.Leaf.SerialNumber.Int64() != 2 {
		t.Errorf("GetCertificate serial %v", cert.Leaf.SerialNumber)
	}
	// The callback ran for the first load and for the swap, not for the
	// Watcher's first check of unchanged files.
	if n := callbacks.Load(); n != 2 {
		t.Errorf("certificate callback ran %d times, want 2", n)
	}
	if e := errs.snapshot(); len(e) > 0 {
		t.Errorf("errors: %v", e)
	}
}

func TestCertificateSourceKeepsLastGoodOnBrokenPair(t *testing.T) {
	good := newTestPair(t, 1)
	k := newKubeletDir(t, good.files())
	var errs errorLog
	src, err := NewCertificateSource(k.path("tls.crt"), k.path("tls.key"),
		WithPollInterval(0), WithErrorHandler(errs.handle))
	if err != nil {
		t.Fatal(err)
	}
	start(t, src.Start)

	broken := []map[string][]byte{
		{"tls.crt": []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), "tls.key": good.keyPEM},
		{"tls.crt": good.certPEM, "tls.key": []byte("garbage")},
		{"tls.crt": good.certPEM}, // key missing
	}
	for i, files := range broken {
		n := len(errs.snapshot())
		k.swap(files)
		waitFor(t, "an error report", func() bool { return len(errs.snapshot()) > n })
		if got := serialOf(src); got != 1 {
			t.Fatalf("broken pair %d: serving serial %d, want the last good 1", i, got)
		}
		if got := handshakeSerial(t, src); got != 1 {
			t.Fatalf("broken pair %d: handshake served %d", i, got)
		}
	}

	k.swap(newTestPair(t, 3).files())
	waitFor(t, "serial 3 once the files are fixed", func() bool { return serialOf(src) == 3 })
}

func TestCertificateSourceRefusesMismatchedKey(t *testing.T) {
	a, b := newTestPair(t, 1), newTestPair(t, 2)
	k := newKubeletDir(t, map[string][]byte{"tls.crt": a.certPEM, "tls.key": b.keyPEM})
	if _, err := NewCertificateSource(k.path("tls.crt"), k.path("tls.key")); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("NewCertificateSource with a mismatched pair = %v, want a key mismatch error", err)
	}

	k.swap(a.files())
	var errs errorLog
	src, err := NewCertificateSource(k.path("tls.crt"), k.path("tls.key"), WithErrorHandler(errs.handle))
	if err != nil {
		t.Fatal(err)
	}
	k.swap(map[string][]byte{"tls.crt": b.certPEM, "tls.key": a.keyPEM})
	err = src.Reload()
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Reload of a mismatched pair = %v", err)
	}
	if e := errs.snapshot(); len(e) != 1 || e[0] != err {
		t.Errorf("reported %v, want the Reload error once", e)
	}
	if got := serialOf(src); got != 1 {
		t.Errorf("serving serial %d after a refused pair, want 1", got)
	}
	k.swap(b.files())
	if err := src.Reload(); err != nil || serialOf(src) != 2 {
		t.Errorf("Reload of a good pair = %v, serial %d", err, serialOf(src))
	}
}

func TestNewCertificateSourceMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewCertificateSource(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing files: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestCertificateSourceClientSideAndChain(t *testing.T) {
	p := newTestPair(t, 7)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	// A chain: leaf followed by another certificate; the leaf is what counts.
	other := newTestPair(t, 99)
	if err := os.WriteFile(cert, append(append([]byte{}, p.certPEM...), other.certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, p.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := NewCertificateSource(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := src.GetClientCertificate(&tls.CertificateRequestInfo{})
	if len(c.Certificate) != 2 || src.Leaf().SerialNumber.Int64() != 7 {
		t.Errorf("chain of %d, leaf serial %v", len(c.Certificate), src.Leaf().SerialNumber)
	}
	if _, err := x509.ParseCertificate(c.Certificate[1]); err != nil {
		t.Error(err)
	}
}
