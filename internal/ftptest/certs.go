package ftptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CertOptions describe a certificate. The zero value is a certificate
// valid from an hour ago for a day, with a random serial, for no name.
type CertOptions struct {
	CommonName string
	// Hosts are DNS names and IP addresses (parsed as such).
	Hosts     []string
	Serial    *big.Int // nil: random
	NotBefore time.Time
	NotAfter  time.Time
}

// Cert is an ECDSA P-256 certificate and its key, as tls.Certificate (with
// Leaf) and as PEM (the key PKCS #8).
type Cert struct {
	TLS             tls.Certificate
	Leaf            *x509.Certificate
	CertPEM, KeyPEM []byte
	key             *ecdsa.PrivateKey
}

// Pool is a pool that trusts c.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Leaf)
	return p
}

// Files are c as a kubernetes.io/tls Secret's keys, tls.crt and tls.key.
func (c *Cert) Files() map[string][]byte {
	return map[string][]byte{"tls.crt": c.CertPEM, "tls.key": c.KeyPEM}
}

// WritePEM writes dir/tls.crt and dir/tls.key and returns their paths.
func (c *Cert) WritePEM(dir string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// CA is a certificate authority that issues leaf certificates.
type CA struct {
	*Cert
}

// GenerateCA makes a self-signed CA named cn.
func GenerateCA(cn string) (*CA, error) {
	c, err := create(CertOptions{CommonName: cn}, nil, true)
	if err != nil {
		return nil, err
	}
	return &CA{c}, nil
}

// NewCA makes a CA for a test.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca, err := GenerateCA("ftptest CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Sign issues a leaf certificate (server and client authentication).
func (ca *CA) Sign(o CertOptions) (*Cert, error) { return create(o, ca.Cert, false) }

// Issue issues a leaf certificate for a test.
func (ca *CA) Issue(t testing.TB, o CertOptions) *Cert {
	t.Helper()
	c, err := ca.Sign(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// GenerateSelfSigned makes a self-signed certificate (its own CA: a pool
// with it verifies it).
func GenerateSelfSigned(o CertOptions) (*Cert, error) { return create(o, nil, true) }

// SelfSigned makes a self-signed certificate for a test.
func SelfSigned(t testing.TB, o CertOptions) *Cert {
	t.Helper()
	c, err := GenerateSelfSigned(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// create signs a certificate for o with parent, or self-signs it when
// parent is nil; isCA makes it able to sign others.
func create(o CertOptions, parent *Cert, isCA bool) (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial := o.Serial
	if serial == nil {
		if serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)); err != nil {
			return nil, err
		}
	}
	notBefore, notAfter := o.NotBefore, o.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.CommonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.Leaf
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:    leaf,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}),
		key:     key,
	}, nil
}
