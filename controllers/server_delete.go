package controllers

import (
	"context"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// finalize runs when an FTPSServer is being deleted. Its children go with
// it through their owner references (the garbage collector); only the data
// PVCs, which the StatefulSet made and nobody owns, need the operator, and
// only with storage.reclaimPolicy Delete (the finalizer is there only then).
func (r *FTPSServerReconciler) finalize(ctx context.Context, srv *v1alpha1.FTPSServer) error {
	if !controllerutil.ContainsFinalizer(srv, finalizerStorage) {
		return nil
	}
	if srv.Spec.Storage.ReclaimPolicyOrDefault() == v1alpha1.ReclaimDelete && srv.Spec.Storage.ExistingClaim == "" {
		if err := r.deleteDataClaims(ctx, srv); err != nil {
			return err
		}
	}
	base := srv.DeepCopy()
	controllerutil.RemoveFinalizer(srv, finalizerStorage)
	return r.Client.Patch(ctx, srv, client.MergeFrom(base))
}

// deleteDataClaims deletes the StatefulSet's PVCs, data-<name>-<ordinal>,
// of every ordinal, also those left by an earlier scale down.
func (r *FTPSServerReconciler) deleteDataClaims(ctx context.Context, srv *v1alpha1.FTPSServer) error {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(render.DataVolume+"-"+srv.Name+"-") + "[0-9]+$")
	var list corev1.PersistentVolumeClaimList
	if err := r.Client.List(ctx, &list, client.InNamespace(srv.Namespace), client.MatchingLabels(render.SelectorLabels(srv))); err != nil {
		return err
	}
	for i := range list.Items {
		pvc := &list.Items[i]
		if !re.MatchString(pvc.Name) || !pvc.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Client.Delete(ctx, pvc, client.Preconditions{UID: &pvc.UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
		r.Recorder.Eventf(srv, pvc, corev1.EventTypeNormal, "DataVolumeDeleted", "DeleteVolume",
			"deleted PersistentVolumeClaim %s (storage.reclaimPolicy Delete)", pvc.Name)
	}
	return nil
}
