package reload

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/reload/projected"
)

// waitTimeout bounds every wait for something asynchronous.
const waitTimeout = 5 * time.Second

// waitFor polls cond every 10ms for at most waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kubeletDir is a directory that the test updates the way the kubelet
// updates a mounted Secret (see package projected).
type kubeletDir struct {
	t   *testing.T
	dir string
}

func newKubeletDir(t *testing.T, files map[string][]byte) *kubeletDir {
	t.Helper()
	k := &kubeletDir{t: t, dir: filepath.Join(t.TempDir(), "tls")}
	k.swap(files)
	return k
}

// swap publishes a new version: new ..<timestamp> folder, ..data_tmp
// symlink renamed over ..data, old folder removed.
func (k *kubeletDir) swap(files map[string][]byte) {
	k.t.Helper()
	if err := projected.Write(k.dir, files); err != nil {
		k.t.Fatal(err)
	}
}

func (k *kubeletDir) path(key string) string { return filepath.Join(k.dir, key) }

// testPair is a self-signed certificate and its key, in PEM.
type testPair struct {
	certPEM, keyPEM []byte
}

func newTestPair(t *testing.T, serial int64) testPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "ftps.example.test"},
		DNSNames:     []string{"ftps.example.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testPair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func (p testPair) files() map[string][]byte {
	return map[string][]byte{"tls.crt": p.certPEM, "tls.key": p.keyPEM}
}

// errorLog collects reported errors.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) snapshot() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// start runs fn(ctx) in a goroutine and stops it, waiting, at the end of
// the test.
func start(t *testing.T, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Start did not return after its context was cancelled")
		}
	})
}
