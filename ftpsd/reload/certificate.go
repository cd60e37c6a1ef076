package reload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// CertificateSource serves the TLS certificate in a pair of PEM files and
// swaps it when they change, without a restart: plug GetCertificate into a
// tls.Config, and new handshakes get the new certificate while open sessions
// go on with theirs.
//
// A pair that cannot be read or parsed, or whose key does not match the
// certificate, is refused: the last good certificate stays in force and the
// error goes to the error handler (WithErrorHandler).
//
// Why not controller-runtime's pkg/certwatcher: it watches the two files
// themselves, which only works across a kubelet ..data swap because the old
// folder's removal happens to produce an event (and otherwise waits for its
// 10s poll); it reports failures only to controller-runtime's logger, not to
// the caller; it reads the two files without checking that they come from the
// same update; and it brings controller-runtime and its metrics registry into
// the ftpsd binary. This type builds on the directory Watcher instead.
type CertificateSource struct {
	certFile, keyFile string
	opts              options

	mu      sync.Mutex // serializes loads
	current atomic.Pointer[loadedPair]
}

// loadedPair is a certificate in force and the files' bytes it came from.
type loadedPair struct {
	cert *tls.Certificate
	sum  [sha256.Size]byte // of cert PEM, NUL, key PEM
}

// NewCertificateSource loads the pair. Unlike later reloads, a failure here
// is returned: there is no last good certificate to fall back on.
func NewCertificateSource(certFile, keyFile string, opts ...Option) (*CertificateSource, error) {
	c := &CertificateSource{certFile: certFile, keyFile: keyFile, opts: buildOptions(opts)}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate returns the certificate in force; it has the signature of
// tls.Config.GetCertificate.
func (c *CertificateSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load().cert, nil
}

// GetClientCertificate returns the certificate in force, for a tls.Config on
// the client side (the data connection in active mode).
func (c *CertificateSource) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.current.Load().cert, nil
}

// Leaf returns the parsed leaf certificate in force (for notAfter and serial
// metrics). Callers must not modify it.
func (c *CertificateSource) Leaf() *x509.Certificate {
	return c.current.Load().cert.Leaf
}

// Reload reads the pair again and starts serving it if it differs from the
// one in force. On failure it keeps the certificate in force, reports the
// error to the error handler and returns it.
func (c *CertificateSource) Reload() error {
	err := c.load()
	if err != nil {
		c.opts.onError(err)
	}
	return err
}

// Start watches the two files and reloads them when they change, until ctx
// is done. The options given to NewCertificateSource apply.
func (c *CertificateSource) Start(ctx context.Context) error {
	w, err := c.NewWatcher()
	if err != nil {
		return err
	}
	return w.Start(ctx)
}

// NewWatcher returns a Watcher on the pair that reloads it, for callers that
// run their watchers themselves. Errors go to the error handler; a failed
// reload is retried on each poll until the files are fixed.
func (c *CertificateSource) NewWatcher() (*Watcher, error) {
	w, err := newWatcher([]string{c.certFile, c.keyFile}, c.load, c.opts)
	if err != nil {
		return nil, err
	}
	// The pair may have changed between its first load and now: make the
	// Watcher's first check load it (load does nothing if the bytes are the
	// ones in force).
	w.seen = map[string]fileState{}
	return w, nil
}

func (c *CertificateSource) load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, keyPEM, err := readPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	if cur := c.current.Load(); cur != nil && cur.sum == sum {
		return nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("reload: certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil { // set by X509KeyPair since Go 1.23 unless x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("reload: certificate %s: %w", c.certFile, err)
		}
	}
	c.current.Store(&loadedPair{cert: &cert, sum: sum})
	if c.opts.onCert != nil {
		c.opts.onCert(c)
	}
	return nil
}

// maxPairReads bounds the retries of readPair.
const maxPairReads = 3

// readPair reads the certificate and then the key, and reads the certificate
// again to make sure an update did not land between the two reads (which
// would pair a new certificate with an old key, or the reverse). The kubelet
// swaps both at once, so a second attempt sees a consistent pair.
func readPair(certFile, keyFile string) (certPEM, keyPEM []byte, err error) {
	for range maxPairReads {
		if certPEM, err = os.ReadFile(certFile); err != nil {
			return nil, nil, fmt.Errorf("reload: reading certificate: %w", err)
		}
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			return nil, nil, fmt.Errorf("reload: reading key: %w", err)
		}
		again, err := os.ReadFile(certFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reload: reading certificate: %w", err)
		}
		if bytes.Equal(again, certPEM) {
			return certPEM, keyPEM, nil
		}
	}
	return nil, nil, errors.New("reload: certificate kept changing while it was read")
}
