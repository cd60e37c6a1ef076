package render

import (
	"crypto/ecdsa"
	"crypto/tls"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestSelfSigned(t *testing.T) {
	srv := sampleServer()
	srv.Spec.TLS.IssuerRef = nil
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := SelfSignedSecret(srv, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || s.Name != "exchange-tls" {
		t.Errorf("secret %s type %s", s.Name, s.Type)
	}
	pair, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("not a usable key pair: %v", err)
	}
	if _, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("key %T, want ECDSA", pair.PrivateKey)
	}
	cert, err := LeafCertificate(s)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(now.Add(2160*time.Hour)) || cert.DNSNames[0] != "ftps.example.com" {
		t.Errorf("notAfter %v names %v", cert.NotAfter, cert.DNSNames)
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		secret *corev1.Secret
		edit   func()
		renew  bool
	}{
		{name: "fresh", at: now, secret: s},
		{name: "just before renewal", at: now.Add(2160*time.Hour - 720*time.Hour - time.Second), secret: s},
		{name: "at renewal time", at: now.Add(2160*time.Hour - 720*time.Hour), secret: s, renew: true},
		{name: "missing", at: now, renew: true},
		{name: "garbage", at: now, secret: &corev1.Secret{Data: map[string][]byte{"tls.crt": []byte("x")}}, renew: true},
		{name: "new DNS names", at: now, secret: s, edit: func() { srv.Spec.TLS.DNSNames = []string{"other.example.com"} }, renew: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != nil {
				tc.edit()
			}
			reason := SelfSignedNeedsRenewal(srv, tc.secret, tc.at)
			if (reason != "") != tc.renew {
				t.Errorf("renewal reason %q, want renewal %v", reason, tc.renew)
			}
		})
	}
}
