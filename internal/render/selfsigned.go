package render

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// AnnotationSelfSigned marks the Secret <name>-tls that the operator itself
// made, so that it never overwrites a Secret someone else wrote.
const AnnotationSelfSigned = "ftps.dev/self-signed"

// clockSkew backdates NotBefore so that a client whose clock is a little
// behind still accepts a fresh certificate.
const clockSkew = 5 * time.Minute

// SelfSignedSecret makes a self-signed ECDSA P-256 certificate for srv,
// valid from now for the certificate duration, in a kubernetes.io/tls Secret
// named <name>-tls. random is the entropy source (crypto/rand in the
// operator).
func SelfSignedSecret(srv *v1alpha1.FTPSServer, now time.Time, random io.Reader) (*corev1.Secret, error) {
	if random == nil {
		random = rand.Reader
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: key: %w", err)
	}
	serial, err := rand.Int(random, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: serial: %w", err)
	}
	names := DNSNames(srv)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"ftps-operator"}},
		DNSNames:              names,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CertificateDuration(srv)),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: key: %w", err)
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        OperatorTLSSecretName(srv),
			Namespace:   srv.Namespace,
			Labels:      Labels(srv, ComponentServer),
			Annotations: map[string]string{AnnotationSelfSigned: "true"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		},
	}, nil
}

// LeafCertificate parses the first certificate of a TLS Secret's tls.crt.
func LeafCertificate(s *corev1.Secret) (*x509.Certificate, error) {
	if s == nil {
		return nil, errors.New("no Secret")
	}
	block, _ := pem.Decode(s.Data[corev1.TLSCertKey])
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("secret %s: %s holds no PEM certificate", s.Name, corev1.TLSCertKey)
	}
	return x509.ParseCertificate(block.Bytes)
}

// SelfSignedRenewalTime is when a self-signed certificate is replaced.
func SelfSignedRenewalTime(srv *v1alpha1.FTPSServer, cert *x509.Certificate) time.Time {
	return cert.NotAfter.Add(-RenewBefore(srv))
}

// SelfSignedNeedsRenewal reports why the operator must (re)make the
// self-signed certificate in s, or "" when s is fine as it is.
func SelfSignedNeedsRenewal(srv *v1alpha1.FTPSServer, s *corev1.Secret, now time.Time) string {
	if s == nil {
		return "the Secret does not exist"
	}
	cert, err := LeafCertificate(s)
	if err != nil || len(s.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return "the Secret holds no usable certificate"
	}
	if !now.Before(SelfSignedRenewalTime(srv, cert)) {
		return "the certificate is due for renewal"
	}
	if !slices.Equal(cert.DNSNames, DNSNames(srv)) {
		return "the DNS names changed"
	}
	if cert.NotAfter.Sub(cert.NotBefore) > CertificateDuration(srv)+clockSkew+time.Minute {
		return "the duration shrank"
	}
	return ""
}
