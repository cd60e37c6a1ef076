package controllers

import (
	"context"
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the reconcilers Setup registers.
type Options struct {
	// DefaultImage is the ftpsd image of servers without spec.image; empty
	// means DefaultImage.
	DefaultImage string
	// Clock drives certificate expiry and renewal; nil means the real clock.
	Clock clock.Clock
	// MaxConcurrentReconciles is how many servers (and, separately, how
	// many users) are reconciled at once; 0 means controller-runtime's
	// default, one.
	MaxConcurrentReconciles int
}

// Setup registers the field indexes and both reconcilers with mgr. It checks
// once, through discovery, whether cert-manager is installed, to decide
// whether Certificates are watched.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return fmt.Errorf("field indexes: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	c := opts.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	detector := NewCertManagerDetector(dc, c)
	if !detector.Installed() {
		ctrl.Log.WithName("setup").Info("cert-manager is not installed: servers with spec.tls.issuerRef will report CertificateReady=False (CertManagerNotInstalled) until it is")
	}
	if err := (&FTPSServerReconciler{DefaultImage: opts.DefaultImage, Clock: c, CertManager: detector, MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("FTPSServer reconciler: %w", err)
	}
	if err := (&FTPSUserReconciler{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("FTPSUser reconciler: %w", err)
	}
	return nil
}
