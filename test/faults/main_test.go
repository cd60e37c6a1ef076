package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// The package shares one control plane; each test runs managers of its own
// that watch only the test's namespace (as --watch-namespaces does), so a
// manager never reconciles another test's servers.
var (
	env    *envtest.Environment
	cfg    *rest.Config
	k8s    client.Client
	scheme *apiruntime.Scheme
	bgCtx  = context.Background()
)

const testImage = "example.com/ftpsd:faults"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	testenv.SetLogger()

	dir, err := os.MkdirTemp("", "ftps-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := startControlPlane(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	return m.Run()
}

// startControlPlane is testenv.Start with two folders chosen here rather
// than by envtest: etcd's data and kube-apiserver's certificates. envtest
// makes and deletes its own folders on every Stop, so a restarted etcd would
// come back empty and a restarted kube-apiserver would serve a new CA that
// no client trusts; with the folders fixed both come back as they were, on
// the same ports.
func startControlPlane(dir string) error {
	etcdDir, certDir := filepath.Join(dir, "etcd"), filepath.Join(dir, "apiserver")
	for _, d := range []string{etcdDir, certDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	cm, err := testenv.CertManagerCRDDir()
	if err != nil {
		return err
	}
	scheme = testenv.Scheme()
	env = &envtest.Environment{
		BinaryAssetsDirectory: testenv.AssetsDirOrDefault(),
		CRDDirectoryPaths:     []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases"), cm},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		// kube-apiserver stops listening at once on SIGTERM but, with
		// watches open, often takes longer than envtest's default 20 s to
		// exit; envtest then kills it (see outage).
		ControlPlaneStopTimeout: 10 * time.Second,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{DataDir: etcdDir},
			APIServer: &envtest.APIServer{CertDir: certDir},
		},
	}
	if cfg, err = env.Start(); err != nil {
		return fmt.Errorf("starting envtest (binaries in %s; run 'make envtest'): %w", testenv.AssetsDirOrDefault(), err)
	}
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	return err
}

// manager is one run of the operator's manager.
type manager struct {
	m *testenv.Manager
}

// startManager runs a manager with the real reconcilers (controllers.Setup,
// as main.go, with main.go's default of 4 concurrent reconciles) watching
// namespace ns. The test's cleanup stops it if the test did not.
func startManager(t *testing.T, ns string) *manager {
	t.Helper()
	m, err := testenv.StartManager(bgCtx, cfg, testenv.ManagerOptions{
		Scheme: scheme,
		Cache:  controllers.CacheOptions(ns),
		// One process runs several managers in turn; their controllers
		// have the same names.
		SkipNameValidation: true,
		Controllers:        controllers.Options{DefaultImage: testImage, MaxConcurrentReconciles: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	mm := &manager{m: m}
	t.Cleanup(func() { mm.stop(t) })
	return mm
}

// stop cancels the manager's context and waits for it to return.
func (m *manager) stop(t *testing.T) {
	t.Helper()
	if err := m.m.Stop(time.Minute); err != nil {
		t.Error(err)
	}
}

// running fails the test if the manager has returned.
func (m *manager) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-m.m.Done():
		_ = m.m.Stop(0)
		t.Fatalf("the manager stopped by itself: %v", err)
	default:
	}
}

// reconciles is how many reconciles the named controller has finished in
// this process (controller-runtime's reconcile_total, summed over results).
func reconciles(t *testing.T, controller string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// namespace makes a fresh namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "faults-"}}
	if err := k8s.Create(bgCtx, ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(bgCtx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func get(ns, name string, obj client.Object) error {
	return k8s.Get(bgCtx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

var errStillThere = errors.New("still there")
