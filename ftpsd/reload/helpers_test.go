package reload

import (
	"context"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/reload/projected"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// waitTimeout bounds every wait for something asynchronous.
const waitTimeout = 5 * time.Second

// waitFor is ftptest.Eventually, every 10ms for at most waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ftptest.Eventually(t, waitTimeout, 10*time.Millisecond, what, ftptest.Holds(cond))
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
	c := ftptest.SelfSigned(t, ftptest.CertOptions{
		CommonName: "ftps.example.test",
		Hosts:      []string{"ftps.example.test"},
		Serial:     big.NewInt(serial),
	})
	return testPair{certPEM: c.CertPEM, keyPEM: c.KeyPEM}
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
