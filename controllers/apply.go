package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// annotationApplied holds the hash of what the operator last applied to a
// child. When the desired object hashes the same and nobody else wrote the
// child since, the apply is skipped: a reconcile with nothing changed sends
// no write at all.
const annotationApplied = "ftps.dev/applied-hash"

// changedByOthers reports whether a field manager other than the operator
// wrote the object itself (not its status): someone may have changed a
// field the operator owns, so it is applied again even though its inputs
// did not change. The forced apply takes those fields back; an apply that
// changes nothing is not written by the API server.
func changedByOthers(o client.Object) bool {
	for _, m := range o.GetManagedFields() {
		if m.Manager != render.FieldOwner && m.Subresource == "" {
			return true
		}
	}
	return false
}

// applier applies child objects with server-side apply, all under the one
// field manager render.FieldOwner, each owned by its FTPSServer.
type applier struct {
	client client.Client
	scheme *runtime.Scheme
}

// apply makes obj (a fully desired typed object) the operator's intent for
// that child. It reports whether a write was sent; when one was, obj is
// then the object the API server answered with.
func (a applier) apply(ctx context.Context, owner *v1alpha1.FTPSServer, obj client.Object) (bool, error) {
	if err := controllerutil.SetControllerReference(owner, obj, a.scheme); err != nil {
		return false, err
	}
	gvk, err := apiutil.GVKForObject(obj, a.scheme)
	if err != nil {
		return false, err
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return false, err
	}
	// Never apply status, nor the zero creationTimestamp typed objects carry.
	delete(u, "status")
	unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u, "metadata", "annotations", annotationApplied)
	b, err := json.Marshal(u)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:16])

	existing, err := a.scheme.New(gvk)
	if err != nil {
		return false, err
	}
	cur := existing.(client.Object)
	switch err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), cur); {
	case err == nil:
		if cur.GetAnnotations()[annotationApplied] == hash && cur.GetDeletionTimestamp() == nil && !changedByOthers(cur) {
			return false, nil
		}
	case !apierrors.IsNotFound(err):
		return false, err
	}

	desired := &unstructured.Unstructured{Object: u}
	desired.SetGroupVersionKind(gvk)
	ann := desired.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[annotationApplied] = hash
	desired.SetAnnotations(ann)
	if err := a.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired),
		client.FieldOwner(render.FieldOwner), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("applying %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	// Hand the caller the object as the API server now holds it (a new
	// Service's cluster IP, for one): the cache sees it only later, and a
	// reconcile that waited for the cache would write the status twice.
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(desired.Object, obj); err != nil {
		return true, fmt.Errorf("reading the applied %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return true, nil
}
