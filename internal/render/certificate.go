package render

import (
	"slices"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// DNSNames are the names the server certificate is issued for: spec.tls.dnsNames,
// or else the control Service's cluster DNS names.
func DNSNames(srv *v1alpha1.FTPSServer) []string {
	if len(srv.Spec.TLS.DNSNames) > 0 {
		return slices.Clone(srv.Spec.TLS.DNSNames)
	}
	n, ns := srv.Name, srv.Namespace
	return []string{n, n + "." + ns, n + "." + ns + ".svc", n + "." + ns + ".svc.cluster.local"}
}

// CertificateDuration is spec.tls.duration with its default.
func CertificateDuration(srv *v1alpha1.FTPSServer) time.Duration {
	return srv.Spec.TLS.DurationOrDefault()
}

// RenewBefore is spec.tls.renewBefore, or a third of the duration.
func RenewBefore(srv *v1alpha1.FTPSServer) time.Duration {
	if d := srv.Spec.TLS.RenewBefore; d != nil && d.Duration > 0 {
		return d.Duration
	}
	return CertificateDuration(srv) / 3
}

// Certificate is the cert-manager Certificate <name>, for a server whose
// spec.tls.issuerRef is set; it fills the Secret <name>-tls.
func Certificate(srv *v1alpha1.FTPSServer) *cmapi.Certificate {
	tls := srv.Spec.TLS
	ref := tls.IssuerRef
	alg := tls.PrivateKey.AlgorithmOrDefault()
	pk := &cmapi.CertificatePrivateKey{
		Algorithm:      cmapi.PrivateKeyAlgorithm(alg),
		RotationPolicy: cmapi.RotationPolicyAlways,
	}
	if tls.PrivateKey.Size != 0 {
		pk.Size = int(tls.PrivateKey.Size)
	}
	usages := []cmapi.KeyUsage{cmapi.UsageServerAuth, cmapi.UsageDigitalSignature}
	if alg == v1alpha1.KeyAlgorithmRSA {
		// RSA key exchange (TLS 1.2 without ECDHE) needs it; ECDSA and
		// Ed25519 keys cannot encipher.
		usages = append(usages, cmapi.UsageKeyEncipherment)
	}
	names := DNSNames(srv)
	return &cmapi.Certificate{
		TypeMeta: metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      srv.Name,
			Namespace: srv.Namespace,
			Labels:    Labels(srv, ComponentServer),
		},
		Spec: cmapi.CertificateSpec{
			SecretName:  OperatorTLSSecretName(srv),
			CommonName:  names[0],
			DNSNames:    names,
			Duration:    &metav1.Duration{Duration: CertificateDuration(srv)},
			RenewBefore: &metav1.Duration{Duration: RenewBefore(srv)},
			PrivateKey:  pk,
			Usages:      usages,
			IssuerRef:   cmmeta.IssuerReference{Name: ref.Name, Kind: ref.KindOrDefault(), Group: ref.GroupOrDefault()},
			SecretTemplate: &cmapi.CertificateSecretTemplate{
				Labels: Labels(srv, ComponentServer),
			},
		},
	}
}
