package stack

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// NewNamespace makes a namespace of its own for one test.
func (s *Stack) NewNamespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := s.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// ApplyFile server-side applies a manifest file into ns, as kubectl does.
func (s *Stack) ApplyFile(ctx context.Context, ns, path string) ([]*unstructured.Unstructured, error) {
	return testenv.ApplyFile(ctx, s.Client, ns, path)
}

// WaitServerReady waits until the server's Ready condition is True for its
// current generation, and fails the test after timeout.
func (s *Stack) WaitServerReady(t testing.TB, ns, name string, timeout time.Duration) *ftpsv1alpha1.FTPSServer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	srv := &ftpsv1alpha1.FTPSServer{}
	for time.Now().Before(deadline) {
		if err := s.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, srv); err == nil {
			c := meta.FindStatusCondition(srv.Status.Conditions, ftpsv1alpha1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == srv.Generation {
				return srv
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("FTPSServer %s/%s not Ready after %s; conditions: %+v", ns, name, timeout, srv.Status.Conditions)
	return nil
}
