package stack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Each of these registers its controller with controllerpkg.Register in
	// its init; a name in CertManagerOptions.Controllers whose package is
	// not imported somewhere in the binary is reported by StartCertManager.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// The issuers controller looks each Issuer's type up in pkg/issuer's
	// registry, which these two fill in their init; without them it fails
	// every Issuer with "issuer '...' not registered" and none becomes Ready.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// DefaultControllers are the cert-manager controllers a namespaced
// self-signed / CA issuer setup needs. The approver matters: with no policy
// engine it approves every CertificateRequest, and no signer touches a
// request that is not approved.
var DefaultControllers = []string{
	"issuers",
	"certificaterequests-approver",
	"certificaterequests-issuer-selfsigned",
	"certificaterequests-issuer-ca",
	"certificates-trigger",
	"certificates-key-manager",
	"certificates-request-manager",
	"certificates-issuing",
	"certificates-readiness",
	"certificates-revision-manager",
}

// Defaults the cert-manager controller binary applies to its configuration
// (internal/apis/config/controller/v1alpha1 in cert-manager, not importable,
// so restated here).
const (
	defaultMinimumBackoff = time.Hour
	defaultMaximumBackoff = 32 * time.Hour
	defaultAPIQPS         = 20
	defaultAPIBurst       = 50
)

// defaultCopiedAnnotationPrefixes: copy every annotation from Certificate to
// CertificateRequest except the ones kubectl and GitOps tools set, as the
// binary does by default.
var defaultCopiedAnnotationPrefixes = []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"}

const (
	// DefaultWaitTimeout bounds the waits of this package when the caller's
	// context has no deadline.
	DefaultWaitTimeout = 60 * time.Second
	waitPollInterval   = 100 * time.Millisecond
	logRingSize        = 2000
)

// CertManagerOptions tune StartCertManager. The zero value is what tests want.
type CertManagerOptions struct {
	// ClusterResourceNamespace is where ClusterIssuers keep their Secrets.
	// Default "cert-manager"; created when missing.
	ClusterResourceNamespace string
	// Controllers to run; default DefaultControllers.
	Controllers []string
	// Workers per controller; default 2 (the binary's default is 5).
	Workers int
	// Logger receives cert-manager's logs. Default: an in-memory ring of the
	// last lines, read with (*CertManager).Logs, at Verbosity.
	Logger logr.Logger
	// Verbosity of the default logger; 0 keeps errors and cert-manager's
	// few level-0 messages (its info level is 2, debug 4).
	Verbosity int
	// StopTimeout bounds Stop; default 30 s.
	StopTimeout time.Duration
}

// CertManager runs cert-manager's real controllers in this process against
// the API server of a kubeconfig (for envtest, write one with Kubeconfig:
// cert-manager's context factory takes its REST config from a kubeconfig
// file or from in-cluster configuration only). Run one per test binary:
// every controller gets an event broadcaster that cert-manager never stops,
// so their goroutines outlive Stop.
//
// What does not run: the webhook (the CRD schema is the only validation and
// nothing defaults fields), the cainjector, ACME, the ingress and Gateway
// shims, ClusterIssuers (add "clusterissuers" to Controllers and import
// its package to have them).
type CertManager struct {
	cancel      context.CancelFunc
	done        chan struct{}
	stopTimeout time.Duration
	stopOnce    sync.Once
	logs        *logRing

	mu   sync.Mutex
	errs []error
}

// certManagerStarted allows one StartCertManager per process; see CertManager.
var certManagerStarted atomic.Bool

// StartCertManager starts cert-manager's controllers against the API server
// of kubeconfigPath and returns once their informers have synced. ctx bounds
// the start only (and lends its values, such as a logr logger, to the
// controllers); they run until Stop.
func StartCertManager(ctx context.Context, kubeconfigPath string, opts CertManagerOptions) (*CertManager, error) {
	if !certManagerStarted.CompareAndSwap(false, true) {
		return nil, errors.New("stack: cert-manager was already started in this process (one per test binary: its event broadcasters are never stopped)")
	}
	opts = opts.withDefaults()
	for _, name := range opts.Controllers {
		if _, ok := controllerpkg.Known()[name]; !ok {
			return nil, fmt.Errorf("stack: cert-manager controller %q is not registered (import its package)", name)
		}
	}

	startCtx, cancelStart := withDefaultTimeout(ctx)
	defer cancelStart()
	if err := ensureNamespace(startCtx, kubeconfigPath, opts.ClusterResourceNamespace); err != nil {
		return nil, err
	}

	cm := &CertManager{done: make(chan struct{}), stopTimeout: opts.StopTimeout}
	logger := opts.Logger
	if logger.GetSink() == nil {
		cm.logs = &logRing{max: logRingSize}
		logger = funcr.New(cm.logs.add, funcr.Options{Verbosity: opts.Verbosity, LogTimestamp: true})
	}
	logger = logger.WithName("cert-manager")

	// The controllers keep RootContext (the context given to the factory)
	// for their whole life, and read their logger from it with
	// logr.FromContext: detach it from the caller's cancellation, give it
	// our logger, and cancel it in Stop.
	runCtx, cancel := context.WithCancel(logf.NewContext(context.WithoutCancel(ctx), logger))
	cm.cancel = cancel
	ok := false
	defer func() {
		if !ok {
			cancel()
		}
	}()

	// NewContextFactory probes /livez/ping for API Priority and Fairness
	// (envtest has it, so client-side rate limiting is off and QPS/Burst
	// below are unused) and builds the shared informer factories. The
	// options left zero are ACME, ingress/gateway shim and ambient
	// credentials, which none of the default controllers read.
	factory, err := controllerpkg.NewContextFactory(runCtx, controllerpkg.ContextOptions{
		Kubeconfig:         kubeconfigPath,
		KubernetesAPIQPS:   defaultAPIQPS,
		KubernetesAPIBurst: defaultAPIBurst,
		IssuerOptions: controllerpkg.IssuerOptions{
			ClusterResourceNamespace: opts.ClusterResourceNamespace,
		},
		CertificateOptions: controllerpkg.CertificateOptions{
			CopiedAnnotationPrefixes:                 defaultCopiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: defaultMinimumBackoff,
			CertificateRequestMaximumBackoffDuration: defaultMaximumBackoff,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("stack: cert-manager context factory: %w", err)
	}
	// Build hands out a Context whose informer factories are shared by every
	// Context the factory builds (each controller builds its own through
	// controllerpkg.NewBuilder, with its own clients, user agent and event
	// broadcaster). Its own broadcaster is one more never stopped.
	base, err := factory.Build()
	if err != nil {
		return nil, fmt.Errorf("stack: cert-manager controller context: %w", err)
	}

	// Order matters: constructing a controller asks the shared factories for
	// its informers, and a factory's Start only starts the informers asked
	// for so far. So construct every controller first, then Start.
	ctrls := make(map[string]controllerpkg.Interface, len(opts.Controllers))
	for _, name := range opts.Controllers {
		ctrl, err := controllerpkg.Known()[name](factory)
		if err != nil {
			return nil, fmt.Errorf("stack: cert-manager controller %s: %w", name, err)
		}
		ctrls[name] = ctrl
	}
	var wg sync.WaitGroup
	for name, ctrl := range ctrls {
		wg.Go(func() {
			// Run blocks until runCtx ends; it only fails when its caches
			// never sync, which then means Stop came first.
			if err := ctrl.Run(opts.Workers, runCtx); err != nil && runCtx.Err() == nil {
				cm.addErr(fmt.Errorf("controller %s: %w", name, err))
			}
		})
	}
	base.SharedInformerFactory.Start(runCtx.Done())
	base.KubeSharedInformerFactory.Start(runCtx.Done())
	// (The binary also starts the HTTP-01 metadata informer factory, and the
	// Gateway API one when enabled; only ACME and the shims use them.)

	go func() {
		wg.Wait()
		// Shutdown waits for the informers' goroutines; Stop bounds it.
		base.SharedInformerFactory.Shutdown()
		base.KubeSharedInformerFactory.Shutdown()
		close(cm.done)
	}()

	// Each controller's Run waits for its own informers too; waiting here
	// makes StartCertManager return only once cert-manager sees the cluster.
	syncCtx := startCtx
	for typ, synced := range base.SharedInformerFactory.WaitForCacheSync(syncCtx.Done()) {
		if !synced {
			cm.Stop()
			return nil, fmt.Errorf("stack: cert-manager informer for %v did not sync: %w", typ, context.Cause(syncCtx))
		}
	}
	for typ, synced := range base.KubeSharedInformerFactory.WaitForCacheSync(syncCtx.Done()) {
		if !synced {
			cm.Stop()
			return nil, fmt.Errorf("stack: cert-manager informer for %s did not sync: %w", typ, context.Cause(syncCtx))
		}
	}
	ok = true
	return cm, nil
}

func (o CertManagerOptions) withDefaults() CertManagerOptions {
	if o.ClusterResourceNamespace == "" {
		o.ClusterResourceNamespace = "cert-manager"
	}
	if len(o.Controllers) == 0 {
		o.Controllers = DefaultControllers
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
	return o
}

func ensureNamespace(ctx context.Context, kubeconfigPath, name string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return fmt.Errorf("stack: loading %s: %w", kubeconfigPath, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("stack: creating namespace %s: %w", name, err)
	}
	return nil
}

// Stop cancels the controllers and waits, at most StopTimeout, for them and
// their informers to end. Calling it again does nothing.
func (c *CertManager) Stop() {
	c.stopOnce.Do(func() {
		c.cancel()
		t := time.NewTimer(c.stopTimeout)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.addErr(fmt.Errorf("cert-manager did not stop within %s", c.stopTimeout))
		}
	})
}

// Err reports controllers that ended on their own, and a Stop that timed out.
func (c *CertManager) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

func (c *CertManager) addErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

// Logs returns the last lines cert-manager logged, when it logs to the
// default in-memory logger; "" otherwise.
func (c *CertManager) Logs() string {
	if c.logs == nil {
		return ""
	}
	return c.logs.String()
}

// logRing keeps the last max lines given to add.
type logRing struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (r *logRing) add(prefix, args string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) >= r.max {
		r.lines = append(r.lines[:0], r.lines[len(r.lines)-r.max/2:]...)
	}
	r.lines = append(r.lines, prefix+" "+args)
}

func (r *logRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// withDefaultTimeout bounds ctx by DefaultWaitTimeout unless it already has
// a deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultWaitTimeout)
}

// poll calls cond every waitPollInterval until it is done, fails, or ctx (bounded
// by DefaultWaitTimeout when it has no deadline) ends; then the error says
// what was last seen, from describe.
func pollState(ctx context.Context, what string, cond func(context.Context) (bool, error), describe func() string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, waitPollInterval, true, cond)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for %s: %w; last seen: %s", what, err, describe())
	}
	return fmt.Errorf("waiting for %s: %w", what, err)
}

// certSummary sums up a Certificate for error messages.
func certSummary(crt *cmapi.Certificate, getErr error) string {
	if getErr != nil {
		return getErr.Error()
	}
	if crt == nil {
		return "nothing"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d", crt.Generation)
	if crt.Status.Revision != nil {
		fmt.Fprintf(&b, ", revision %d", *crt.Status.Revision)
	}
	for _, cond := range crt.Status.Conditions {
		fmt.Fprintf(&b, "; %s=%s (gen %d) %s: %s", cond.Type, cond.Status, cond.ObservedGeneration, cond.Reason, cond.Message)
	}
	return b.String()
}

func certCondition(crt *cmapi.Certificate, typ cmapi.CertificateConditionType) *cmapi.CertificateCondition {
	for i := range crt.Status.Conditions {
		if crt.Status.Conditions[i].Type == typ {
			return &crt.Status.Conditions[i]
		}
	}
	return nil
}

// certReady: Ready=True, observed for the Certificate's current generation.
func certReady(crt *cmapi.Certificate) bool {
	cond := certCondition(crt, cmapi.CertificateConditionReady)
	return cond != nil && cond.Status == cmmeta.ConditionTrue && cond.ObservedGeneration == crt.Generation
}

// certSettled: the last issuance is over (see WaitSettled).
func certSettled(crt *cmapi.Certificate) bool {
	return certReady(crt) && certCondition(crt, cmapi.CertificateConditionIssuing) == nil && crt.Status.Revision != nil
}

// waitCertificate polls the Certificate until done says so.
func waitCertificate(ctx context.Context, c client.Client, namespace, name, what string, done func(*cmapi.Certificate) bool) (*cmapi.Certificate, error) {
	var (
		crt     cmapi.Certificate
		last    *cmapi.Certificate
		lastErr error
	)
	err := pollState(ctx, fmt.Sprintf("Certificate %s/%s %s", namespace, name, what), func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &crt); err != nil {
			lastErr = err
			// Not created yet, or a passing API error: keep polling.
			return false, nil
		}
		last, lastErr = crt.DeepCopy(), nil
		return done(last), nil
	}, func() string { return certSummary(last, lastErr) })
	if err != nil {
		return nil, err
	}
	return last, nil
}

// WaitReady waits (bounded by ctx, or DefaultWaitTimeout when ctx has no
// deadline) until the Certificate is Ready=True for its current generation.
func WaitReady(ctx context.Context, c client.Client, namespace, name string) error {
	_, err := waitCertificate(ctx, c, namespace, name, "to be Ready", certReady)
	return err
}

// WaitSettled waits (bounded like WaitReady) until the Certificate's last
// issuance is over: Ready=True for its current generation, no Issuing
// condition, status.revision set. It returns the Certificate as then seen.
func WaitSettled(ctx context.Context, c client.Client, namespace, name string) (*cmapi.Certificate, error) {
	return waitCertificate(ctx, c, namespace, name, "to settle (Ready, not Issuing, revision set)", certSettled)
}

// WaitRenewed waits (bounded like WaitReady) until the Certificate settled
// (see WaitSettled) at a revision above afterRevision, the revision seen
// before Renew.
func WaitRenewed(ctx context.Context, c client.Client, namespace, name string, afterRevision int) (*cmapi.Certificate, error) {
	return waitCertificate(ctx, c, namespace, name, fmt.Sprintf("to settle at a revision above %d", afterRevision),
		func(crt *cmapi.Certificate) bool {
			return certSettled(crt) && *crt.Status.Revision > afterRevision
		})
}

// Renew forces a renewal the way `cmctl renew` does: once the previous
// issuance settled (see WaitSettled), it sets the Issuing condition to True
// on the Certificate's status (retrying on conflict), which cert-manager's
// certificates-trigger would otherwise set when renewal is due. Its wait is
// bounded like WaitReady's. A completed renewal shows as a higher
// status.revision: read it before with WaitSettled, after with WaitRenewed.
func Renew(ctx context.Context, c client.Client, namespace, name string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if _, err := WaitSettled(ctx, c, namespace, name); err != nil {
		return fmt.Errorf("renewing: %w", err)
	}
	key := types.NamespacedName{Namespace: namespace, Name: name}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var crt cmapi.Certificate
		if err := c.Get(ctx, key, &crt); err != nil {
			return err
		}
		if cond := certCondition(&crt, cmapi.CertificateConditionIssuing); cond != nil && cond.Status == cmmeta.ConditionTrue {
			// An issuance began since it settled: that is a renewal too.
			return nil
		}
		now := metav1.Now()
		crt.Status.Conditions = append(crt.Status.Conditions, cmapi.CertificateCondition{
			Type:               cmapi.CertificateConditionIssuing,
			Status:             cmmeta.ConditionTrue,
			Reason:             "ManuallyTriggered",
			Message:            "Certificate re-issuance manually triggered",
			LastTransitionTime: &now,
			ObservedGeneration: crt.Generation,
		})
		return c.Status().Update(ctx, &crt)
	})
	if err != nil {
		return fmt.Errorf("renewing Certificate %s/%s: %w", namespace, name, err)
	}
	return nil
}

// WaitIssuerReady waits (bounded like WaitReady) until the namespaced Issuer
// is Ready=True for its current generation.
func WaitIssuerReady(ctx context.Context, c client.Client, namespace, name string) error {
	var (
		iss     cmapi.Issuer
		lastErr error
		state   = "nothing"
	)
	return pollState(ctx, fmt.Sprintf("Issuer %s/%s to be Ready", namespace, name), func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &iss); err != nil {
			lastErr = err
			return false, nil
		}
		lastErr, state = nil, fmt.Sprintf("generation %d", iss.Generation)
		for _, cond := range iss.Status.Conditions {
			state += fmt.Sprintf("; %s=%s (gen %d) %s: %s", cond.Type, cond.Status, cond.ObservedGeneration, cond.Reason, cond.Message)
			if cond.Type == cmapi.IssuerConditionReady && cond.Status == cmmeta.ConditionTrue && cond.ObservedGeneration == iss.Generation {
				return true, nil
			}
		}
		return false, nil
	}, func() string {
		if lastErr != nil {
			return lastErr.Error()
		}
		return state
	})
}
