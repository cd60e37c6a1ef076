package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	// reader reads around the cache, which keeps no managedFields field
	// sets (CacheOptions).
	reader client.Reader
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
		others := changedByOthers(cur)
		if cur.GetAnnotations()[annotationApplied] == hash && cur.GetDeletionTimestamp() == nil && !others {
			return false, nil
		}
		if others {
			if err := a.claimForeignListItems(ctx, gvk, cur); err != nil {
				return false, err
			}
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

// claimForeignListItems makes the operator the owner of the list items
// another field manager added to a list of the child's spec or data in
// which the operator owns items, so that the apply that follows removes
// those it does not want. A forced apply takes back a field another manager
// changed, but not a list item another manager added: changing a Service
// port's number by hand adds an item (a list keyed by port) that the
// operator's apply would keep beside its own, and then the API server
// refuses the Service (two ports named "ftp"). Other managers' labels,
// annotations and other fields stay theirs.
func (a applier) claimForeignListItems(ctx context.Context, gvk schema.GroupVersionKind, cur client.Object) error {
	fresh := &unstructured.Unstructured{}
	fresh.SetGroupVersionKind(gvk)
	if err := a.reader.Get(ctx, client.ObjectKeyFromObject(cur), fresh); err != nil {
		return client.IgnoreNotFound(err)
	}
	entries := fresh.GetManagedFields()
	ours := slices.IndexFunc(entries, func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == render.FieldOwner && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" && e.FieldsV1 != nil
	})
	if ours < 0 {
		return nil
	}
	var own map[string]any
	if err := json.Unmarshal(entries[ours].FieldsV1.GetRawBytes(), &own); err != nil {
		return err
	}
	moved := false
	kept := make([]metav1.ManagedFieldsEntry, 0, len(entries))
	oursAt := 0 // where ours is in kept, which may drop entries before it
	for i, e := range entries {
		if i == ours {
			oursAt = len(kept)
		}
		if i == ours || e.Manager == render.FieldOwner || e.Subresource != "" || e.FieldsV1 == nil {
			kept = append(kept, e)
			continue
		}
		var theirs map[string]any
		if err := json.Unmarshal(e.FieldsV1.GetRawBytes(), &theirs); err != nil {
			return err
		}
		took := false
		for k, v := range theirs {
			if k == "f:metadata" {
				continue
			}
			ov, _ := own[k].(map[string]any)
			tv, _ := v.(map[string]any)
			if ov != nil && tv != nil && claimListItems(ov, tv) {
				took = true
				if len(tv) == 0 {
					delete(theirs, k)
				}
			}
		}
		if !took {
			kept = append(kept, e)
			continue
		}
		moved = true
		if len(theirs) == 0 {
			continue // nothing of theirs left: the entry goes
		}
		raw, err := json.Marshal(theirs)
		if err != nil {
			return err
		}
		e.FieldsV1 = metav1.NewFieldsV1(string(raw))
		kept = append(kept, e)
	}
	if !moved {
		return nil
	}
	raw, err := json.Marshal(own)
	if err != nil {
		return err
	}
	kept[oursAt].FieldsV1 = metav1.NewFieldsV1(string(raw))
	base := fresh.DeepCopy()
	fresh.SetManagedFields(kept)
	if err := a.client.Patch(ctx, fresh, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("taking over list items of %s %s that others added: %w", gvk.Kind, cur.GetName(), err)
	}
	return nil
}

// claimListItems moves into ours the list items of theirs (field set nodes
// keyed "k:", "v:" or "i:") that belong to a list in which ours owns items
// too, at any depth, and reports whether it moved any. Emptied nodes of
// theirs are removed.
func claimListItems(ours, theirs map[string]any) bool {
	moved := false
	listOfOurs := slices.ContainsFunc(slices.Collect(maps.Keys(ours)), isListItem)
	for k, v := range theirs {
		tv, _ := v.(map[string]any)
		ov, shared := ours[k].(map[string]any)
		switch {
		case listOfOurs && isListItem(k) && !shared:
			ours[k] = v
			delete(theirs, k)
			moved = true
		case shared && tv != nil:
			if claimListItems(ov, tv) {
				moved = true
				if len(tv) == 0 {
					delete(theirs, k)
				}
			}
		}
	}
	return moved
}

func isListItem(key string) bool {
	return strings.HasPrefix(key, "k:") || strings.HasPrefix(key, "v:") || strings.HasPrefix(key, "i:")
}
