package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/internal/render"
)

// CacheOptions are the manager cache settings the reconcilers are written
// for. They keep the manager's memory in proportion to the FTPS servers,
// not to the cluster:
//
//   - ConfigMaps, Services, StatefulSets, PodDisruptionBudgets and Pods
//     are cached only when they carry the operator's managed-by label: the
//     reconcilers read no others (every child is labelled; a child that
//     lost its label reads as missing and is applied again, which puts the
//     label back). Pods are read by name, for the NodePort addresses of
//     their nodes; the StatefulSet gives each the label from its template,
//     so that a cluster's other pods, often the bulk of its objects, stay
//     out of the manager's memory.
//   - Secrets are cached whole: password, TLS and client CA Secrets
//     belong to the users and carry no label of ours.
//   - Every cached object keeps who manages it but not the field sets
//     (managedFields[].fieldsV1), the largest part of an applied object,
//     which the reconcilers never read (changedByOthers needs the manager
//     names only).
//
// With watchNamespaces, namespaced objects are cached (and so FTPS objects
// reconciled) in those namespaces only; cluster-scoped ones (Nodes, CRDs)
// are cached as before.
func CacheOptions(watchNamespaces ...string) cache.Options {
	ours := labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.FieldOwner})
	byObject := map[client.Object]cache.ByObject{}
	for _, o := range []client.Object{&corev1.ConfigMap{}, &corev1.Service{}, &appsv1.StatefulSet{}, &policyv1.PodDisruptionBudget{}, &corev1.Pod{}} {
		byObject[o] = cache.ByObject{Label: ours}
	}
	opts := cache.Options{ByObject: byObject, DefaultTransform: TrimManagedFields}
	for _, ns := range watchNamespaces {
		if opts.DefaultNamespaces == nil {
			opts.DefaultNamespaces = map[string]cache.Config{}
		}
		opts.DefaultNamespaces[ns] = cache.Config{}
	}
	return opts
}

// TrimManagedFields is a cache transform that drops the field sets of
// managedFields, keeping each entry's manager, operation and subresource.
func TrimManagedFields(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil //nolint:nilerr // not an object (a tombstone): keep as is
	}
	mf := obj.GetManagedFields()
	if len(mf) == 0 {
		return in, nil
	}
	trimmed := make([]metav1.ManagedFieldsEntry, len(mf))
	for i, e := range mf {
		e.FieldsV1 = nil
		trimmed[i] = e
	}
	obj.SetManagedFields(trimmed)
	return in, nil
}
