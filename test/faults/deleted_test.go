package faults

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// TestChildDeletedByHand deletes each child of a reconciled server in
// turn: each comes back, with a new UID, exactly as the spec renders it
// (checkServer), and the status follows (a new self-signed certificate's
// serial number). A child edited by hand is controllers.TestDriftIsReverted.
func TestChildDeletedByHand(t *testing.T) {
	ns := namespace(t)
	startManager(t, ns)
	passwords := convergedServer(t, ns, "hand")

	for _, child := range []client.Object{
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "hand"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hand-config"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hand-users"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hand-pasv-1"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hand"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hand-tls"}},
		&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "hand"}},
	} {
		what := fmt.Sprintf("%T %s", child, child.GetName())
		if err := get(ns, child.GetName(), child); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		uid := child.GetUID()
		if err := k8s.Delete(bgCtx, child, client.Preconditions{UID: &uid}); err != nil {
			t.Fatalf("deleting %s: %v", what, err)
		}
		ftptest.Eventually(t, time.Minute, 200*time.Millisecond, what+" back", func() error {
			if err := get(ns, child.GetName(), child); err != nil {
				return err
			}
			if child.GetUID() == uid {
				return fmt.Errorf("still the deleted one")
			}
			return nil
		})
		waitConverged(t, time.Minute, ns, "hand", passwords)
	}
}

// claimsIntact checks that the claims of srv's ordinals exist and are not
// being deleted.
func claimsIntact(t *testing.T, srv *v1alpha1.FTPSServer, ordinals int32) {
	t.Helper()
	for i := range ordinals {
		pvc := &corev1.PersistentVolumeClaim{}
		if err := get(srv.Namespace, render.DataClaimName(srv, i), pvc); err != nil {
			t.Errorf("claim of replica %d: %v", i, err)
			continue
		}
		if !pvc.DeletionTimestamp.IsZero() {
			t.Errorf("claim %s is being deleted", pvc.Name)
		}
	}
}

// TestDataClaimsSurvive: scaling a server down never deletes a data claim,
// whatever its reclaimPolicy; deleting a server with reclaimPolicy Retain
// leaves them all. (Delete deleting them is
// controllers.TestDeletionReclaimPolicy.)
func TestDataClaimsSurvive(t *testing.T) {
	ns := namespace(t)
	startManager(t, ns)
	servers := map[string]map[string]string{}
	for _, policy := range []v1alpha1.ReclaimPolicy{v1alpha1.ReclaimRetain, v1alpha1.ReclaimDelete} {
		srv := newServer(ns, "keep-"+map[v1alpha1.ReclaimPolicy]string{v1alpha1.ReclaimRetain: "retain", v1alpha1.ReclaimDelete: "delete"}[policy], 3)
		srv.Spec.Storage.ReclaimPolicy = policy
		create(t, newCertUser(ns, srv.Name, "carol"), srv, testenv.DataClaim(srv, 0), testenv.DataClaim(srv, 1), testenv.DataClaim(srv, 2))
		servers[srv.Name] = map[string]string{"carol": ""}
	}
	waitAllConverged(t, 2*time.Minute, ns, servers)

	for name := range servers {
		updateServer(t, ns, name, func(s *v1alpha1.FTPSServer) { s.Spec.Replicas = new(int32(1)) })
	}
	waitAllConverged(t, time.Minute, ns, servers)
	for name := range servers {
		srv := &v1alpha1.FTPSServer{}
		if err := get(ns, name, srv); err != nil {
			t.Fatal(err)
		}
		claimsIntact(t, srv, 3)
	}

	srv := &v1alpha1.FTPSServer{}
	if err := get(ns, "keep-retain", srv); err != nil {
		t.Fatal(err)
	}
	if len(srv.Finalizers) != 0 {
		t.Errorf("a Retain server has finalizers %v", srv.Finalizers)
	}
	if err := k8s.Delete(bgCtx, srv); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, time.Minute, 200*time.Millisecond, "server keep-retain gone", func() error {
		if err := get(ns, "keep-retain", &v1alpha1.FTPSServer{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("%w (%v)", errStillThere, err)
		}
		return nil
	})
	// Give the operator time to act on the deletion, had it wanted to.
	time.Sleep(2 * time.Second)
	claimsIntact(t, srv, 3)
}
