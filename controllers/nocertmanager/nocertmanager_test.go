package nocertmanager_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// TestCertManagerNotInstalled: a server with an issuerRef on a cluster
// without cert-manager gets CertificateReady=False CertManagerNotInstalled
// with a message saying what to do, its other children are still made, and
// the operator keeps running; installing cert-manager later is noticed
// without a restart.
func TestCertManagerNotInstalled(t *testing.T) {
	ctrl.SetLogger(logr.Discard())
	env, err := testenv.Start(testenv.Options{WithoutCertManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(time.Now())
	mgr, err := testenv.StartManager(ctx, env.Config, testenv.ManagerOptions{
		Scheme:      env.Scheme,
		Controllers: controllers.Options{Clock: clk},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mgr.Stop(time.Minute); err != nil {
			t.Error(err)
		}
	})

	c := env.Client
	srv := &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nocm"},
		Spec: v1alpha1.FTPSServerSpec{
			TLS:     v1alpha1.ServerTLS{IssuerRef: &v1alpha1.IssuerReference{Name: "ca", Kind: "ClusterIssuer"}},
			Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")},
		},
	}
	if err := c.Create(ctx, srv); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "CertificateReady=False CertManagerNotInstalled", func() error { return check(ctx, c) })

	// cert-manager is installed later: without a restart, the operator
	// finds it (it looks again once certManagerRecheck has passed) and
	// creates the Certificate.
	dir, err := testenv.CertManagerCRDDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Minute)
	cur := &v1alpha1.FTPSServer{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nocm"}, cur); err != nil {
		t.Fatal(err)
	}
	base := cur.DeepCopy()
	cur.Annotations = map[string]string{"test/poke": "1"}
	if err := c.Patch(ctx, cur, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "the Certificate once cert-manager is installed", func() error {
		crt := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nocm"}, crt); err != nil {
			return err
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nocm"}, cur); err != nil {
			return err
		}
		cr := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionCertificateReady)
		if cr == nil || cr.Reason != controllers.ReasonIssuing {
			return fmt.Errorf("CertificateReady %+v", cr)
		}
		return nil
	})
}

func check(ctx context.Context, c client.Client) error {
	cur := &v1alpha1.FTPSServer{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "nocm"}, cur); err != nil {
		return err
	}
	cr := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionCertificateReady)
	if cr == nil || cr.Status != metav1.ConditionFalse || cr.Reason != controllers.ReasonCertManagerNotInstalled {
		return fmt.Errorf("CertificateReady %+v", cr)
	}
	if cr.ObservedGeneration != cur.Generation {
		return fmt.Errorf("observedGeneration %d", cr.ObservedGeneration)
	}
	for _, ty := range []string{v1alpha1.ConditionReady} {
		if meta.IsStatusConditionTrue(cur.Status.Conditions, ty) {
			return fmt.Errorf("%s is True", ty)
		}
	}
	d := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionDegraded)
	if d == nil || d.Status != metav1.ConditionTrue || d.Reason != controllers.ReasonCertManagerNotInstalled {
		return fmt.Errorf("Degraded %+v", d)
	}
	// The rest of the server is still rendered.
	for _, name := range []string{"nocm-config", "nocm-users"} {
		var o client.Object = &corev1.ConfigMap{}
		if name == "nocm-users" {
			o = &corev1.Secret{}
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, o); err != nil {
			return err
		}
	}
	return nil
}
