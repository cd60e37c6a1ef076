package controllers_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// claimDeleted: gone, or going (the pvc-protection finalizer keeps it until
// no pod uses it).
func claimDeleted(ns, name string) (bool, error) {
	pvc := &corev1.PersistentVolumeClaim{}
	err := get(ns, name, pvc)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !pvc.DeletionTimestamp.IsZero(), nil
}

func TestDeletionReclaimPolicy(t *testing.T) {
	for _, policy := range []v1alpha1.ReclaimPolicy{v1alpha1.ReclaimDelete, v1alpha1.ReclaimRetain} {
		t.Run(string(policy), func(t *testing.T) {
			ns := namespace(t)
			srv := sampleServer(ns, "gone")
			srv.Spec.TLS.IssuerRef = nil
			srv.Spec.PolicyRef = nil
			srv.Spec.Storage.ReclaimPolicy = policy
			create(t, srv)
			// A claim of another server with a similar name is never touched.
			other := sampleServer(ns, "gone-2")
			create(t, testenv.DataClaim(srv, 0), testenv.DataClaim(srv, 1), testenv.DataClaim(srv, 5), testenv.DataClaim(other, 0))

			cur := &v1alpha1.FTPSServer{}
			ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "children owned by the server", func() error {
				if err := get(ns, "gone", cur); err != nil {
					return err
				}
				for k, o := range children(cur) {
					if k == "Certificate/gone" {
						continue
					}
					if err := get(ns, nameOf(k), o); err != nil {
						return fmt.Errorf("%s: %w", k, err)
					}
					if err := ownedBy(o, cur); err != nil {
						return err
					}
				}
				tls := &corev1.Secret{}
				if err := get(ns, "gone-tls", tls); err != nil {
					return err
				}
				if err := ownedBy(tls, cur); err != nil {
					return err
				}
				hasFinalizer := len(cur.Finalizers) > 0
				if hasFinalizer != (policy == v1alpha1.ReclaimDelete) {
					return fmt.Errorf("finalizers %v with reclaimPolicy %s", cur.Finalizers, policy)
				}
				return nil
			})

			if err := k8s.Delete(testCtx, cur); err != nil {
				t.Fatal(err)
			}
			ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "server gone", func() error {
				if err := get(ns, "gone", &v1alpha1.FTPSServer{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("server still there: %v", err)
				}
				return nil
			})
			for _, o := range []int32{0, 1, 5} {
				deleted, err := claimDeleted(ns, render.DataClaimName(srv, o))
				if err != nil {
					t.Fatal(err)
				}
				if deleted != (policy == v1alpha1.ReclaimDelete) {
					t.Errorf("claim %d deleted=%v with reclaimPolicy %s", o, deleted, policy)
				}
			}
			if deleted, err := claimDeleted(ns, render.DataClaimName(other, 0)); err != nil || deleted {
				t.Errorf("another server's claim was deleted (%v)", errors.Join(err))
			}
		})
	}
}
