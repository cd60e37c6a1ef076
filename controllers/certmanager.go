package controllers

import (
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/clock"
)

// certManagerRecheck is how often an absent cert-manager is looked for again.
const certManagerRecheck = 30 * time.Second

// CertManagerDetector tells whether the cluster serves cert-manager's
// Certificate API. cert-manager is optional: when it is missing, servers
// with spec.tls.issuerRef report CertificateReady=False
// (CertManagerNotInstalled) and are requeued, and installing cert-manager
// later is noticed without restarting the operator.
type CertManagerDetector struct {
	discovery discovery.DiscoveryInterface
	clock     clock.PassiveClock

	mu        sync.Mutex
	installed bool
	checked   time.Time
}

// NewCertManagerDetector checks with the discovery client d.
func NewCertManagerDetector(d discovery.DiscoveryInterface, c clock.PassiveClock) *CertManagerDetector {
	if c == nil {
		c = clock.RealClock{}
	}
	return &CertManagerDetector{discovery: d, clock: c}
}

// Installed reports whether certificates.cert-manager.io/v1 is served. Once
// seen it is assumed to stay; while absent it is checked at most every
// certManagerRecheck.
func (d *CertManagerDetector) Installed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.installed || (!d.checked.IsZero() && d.clock.Since(d.checked) < certManagerRecheck) {
		return d.installed
	}
	d.checked = d.clock.Now()
	list, err := d.discovery.ServerResourcesForGroupVersion(cmapi.SchemeGroupVersion.String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == "certificates" {
			d.installed = true
		}
	}
	return d.installed
}
