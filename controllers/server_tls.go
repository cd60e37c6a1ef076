package controllers

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// Reasons of the CertificateReady condition.
const (
	ReasonCertManagerNotInstalled = "CertManagerNotInstalled"
	ReasonIssuing                 = "Issuing"
	ReasonIssued                  = "Issued"
	ReasonSelfSigned              = "SelfSigned"
	ReasonSecretProvided          = "SecretProvided"
	ReasonSecretNotFound          = "SecretNotFound"
	ReasonInvalidCertificate      = "InvalidCertificate"
	ReasonExpired                 = "Expired"
)

// certManagerRequeue is how often a server waiting for cert-manager (absent,
// or installed after the operator started and so not watched) is looked at.
const certManagerRequeue = time.Minute

// tlsOutcome is the CertificateReady condition and what the status shows of
// the certificate.
type tlsOutcome struct {
	status       metav1.ConditionStatus
	reason       string
	message      string
	cert         *v1alpha1.CertificateStatus
	requeueAfter time.Duration
}

// reconcileTLS makes sure the Secret the pods mount will hold a certificate:
// a cert-manager Certificate, a brought Secret, or a self-signed certificate
// the operator makes and renews.
func (r *FTPSServerReconciler) reconcileTLS(ctx context.Context, srv *v1alpha1.FTPSServer, apply func(client.Object) error) (tlsOutcome, error) {
	switch {
	case srv.Spec.TLS.IssuerRef != nil:
		return r.reconcileCertManager(ctx, srv, apply)
	case srv.Spec.TLS.SecretName != "":
		return r.reconcileBroughtSecret(ctx, srv)
	default:
		return r.reconcileSelfSigned(ctx, srv, apply)
	}
}

func (r *FTPSServerReconciler) reconcileCertManager(ctx context.Context, srv *v1alpha1.FTPSServer, apply func(client.Object) error) (tlsOutcome, error) {
	if !r.CertManager.Installed() {
		return tlsOutcome{
			status: metav1.ConditionFalse,
			reason: ReasonCertManagerNotInstalled,
			message: fmt.Sprintf("spec.tls.issuerRef names %s %q, but this cluster does not serve cert-manager's Certificate API (cert-manager.io/v1): "+
				"install cert-manager (the operator looks for it again every minute), or remove issuerRef to get a self-signed certificate, or set spec.tls.secretName to a kubernetes.io/tls Secret",
				srv.Spec.TLS.IssuerRef.KindOrDefault(), srv.Spec.TLS.IssuerRef.Name),
			requeueAfter: certManagerRequeue,
		}, nil
	}
	if err := apply(render.Certificate(srv)); err != nil {
		return tlsOutcome{}, err
	}
	out := tlsOutcome{status: metav1.ConditionFalse, reason: ReasonIssuing, message: "cert-manager has not issued the certificate yet"}
	crt := &cmapi.Certificate{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: srv.Name}, crt); err != nil && !apierrors.IsNotFound(err) {
		return tlsOutcome{}, err
	}
	var renewal *metav1.Time
	for _, c := range crt.Status.Conditions {
		if c.Type == cmapi.CertificateConditionReady {
			if c.Status == cmmeta.ConditionTrue {
				out.status, out.reason = metav1.ConditionTrue, ReasonIssued
			}
			if c.Message != "" {
				out.message = "cert-manager: " + c.Message
			}
		}
	}
	renewal = crt.Status.RenewalTime
	if out.status != metav1.ConditionTrue && !r.watchingCertificates {
		// Certificates are watched only if cert-manager was there when the
		// operator started; look again meanwhile. With the watch, a
		// periodic look would only cost a reconcile of every waiting
		// server each minute.
		out.requeueAfter = certManagerRequeue
	}
	secret, err := r.tlsSecret(ctx, srv)
	if err != nil {
		return tlsOutcome{}, err
	}
	if secret != nil {
		if cert, err := render.LeafCertificate(secret); err == nil {
			out.cert = certificateStatus(srv, cert, renewal)
		}
	}
	return out, nil
}

func (r *FTPSServerReconciler) reconcileBroughtSecret(ctx context.Context, srv *v1alpha1.FTPSServer) (tlsOutcome, error) {
	name := srv.Spec.TLS.SecretName
	secret, err := r.tlsSecret(ctx, srv)
	if err != nil {
		return tlsOutcome{}, err
	}
	if secret == nil {
		return tlsOutcome{status: metav1.ConditionFalse, reason: ReasonSecretNotFound,
			message: fmt.Sprintf("spec.tls.secretName: Secret %q does not exist in namespace %s; create a kubernetes.io/tls Secret with tls.crt and tls.key", name, srv.Namespace)}, nil
	}
	cert, err := render.LeafCertificate(secret)
	if err != nil || len(secret.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return tlsOutcome{status: metav1.ConditionFalse, reason: ReasonInvalidCertificate,
			message: fmt.Sprintf("Secret %q must hold a PEM certificate in tls.crt and its key in tls.key", name)}, nil
	}
	out := tlsOutcome{status: metav1.ConditionTrue, reason: ReasonSecretProvided,
		message: fmt.Sprintf("serving the certificate of Secret %q", name), cert: certificateStatus(srv, cert, nil)}
	if now := r.Clock.Now(); !now.Before(cert.NotAfter) {
		out.status, out.reason = metav1.ConditionFalse, ReasonExpired
		out.message = fmt.Sprintf("the certificate in Secret %q expired at %s; renew it", name, cert.NotAfter.UTC().Format(time.RFC3339))
	} else {
		out.requeueAfter = cert.NotAfter.Sub(now) + time.Second
	}
	return out, nil
}

func (r *FTPSServerReconciler) reconcileSelfSigned(ctx context.Context, srv *v1alpha1.FTPSServer, apply func(client.Object) error) (tlsOutcome, error) {
	now := r.Clock.Now()
	secret, err := r.tlsSecret(ctx, srv)
	if err != nil {
		return tlsOutcome{}, err
	}
	if why := render.SelfSignedNeedsRenewal(srv, secret, now); why != "" {
		// The cache may lag behind a certificate made a moment ago: ask the
		// API server before making another one.
		fresh := &corev1.Secret{}
		switch err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: render.OperatorTLSSecretName(srv)}, fresh); {
		case apierrors.IsNotFound(err):
			fresh = nil
		case err != nil:
			return tlsOutcome{}, err
		}
		secret = fresh
		if why = render.SelfSignedNeedsRenewal(srv, secret, now); why != "" {
			made, err := render.SelfSignedSecret(srv, now, rand.Reader)
			if err != nil {
				return tlsOutcome{}, err
			}
			if err := apply(made); err != nil {
				return tlsOutcome{}, err
			}
			r.Recorder.Eventf(srv, made, corev1.EventTypeNormal, "SelfSignedCertificateIssued", "IssueCertificate",
				"made a self-signed certificate in Secret %s: %s", made.Name, why)
			secret = made
		}
	}
	cert, err := render.LeafCertificate(secret)
	if err != nil {
		return tlsOutcome{}, err
	}
	renewAt := render.SelfSignedRenewalTime(srv, cert)
	return tlsOutcome{
		status:       metav1.ConditionTrue,
		reason:       ReasonSelfSigned,
		message:      fmt.Sprintf("serving a self-signed certificate the operator renews at %s; set spec.tls.issuerRef or spec.tls.secretName for a trusted one", renewAt.UTC().Format(time.RFC3339)),
		cert:         certificateStatus(srv, cert, &metav1.Time{Time: renewAt}),
		requeueAfter: max(renewAt.Sub(now), 0) + time.Second,
	}, nil
}

// tlsSecret is the Secret the pods mount, or nil when it does not exist.
func (r *FTPSServerReconciler) tlsSecret(ctx context.Context, srv *v1alpha1.FTPSServer) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: render.TLSSecretName(srv)}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// certificateStatus is what the status shows of cert. renewal is known for
// cert-manager and self-signed certificates; otherwise it is left out.
func certificateStatus(srv *v1alpha1.FTPSServer, cert *x509.Certificate, renewal *metav1.Time) *v1alpha1.CertificateStatus {
	s := &v1alpha1.CertificateStatus{
		SecretName:   render.TLSSecretName(srv),
		NotAfter:     &metav1.Time{Time: cert.NotAfter.UTC()},
		SerialNumber: fmt.Sprintf("%x", cert.SerialNumber),
	}
	if renewal != nil {
		s.RenewalTime = &metav1.Time{Time: renewal.UTC().Truncate(time.Second)}
	}
	return s
}
