package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/internal/render"
)

// TestTrimManagedFields: the field sets go, the managers stay, so that
// changedByOthers still sees who wrote an object.
func TestTrimManagedFields(t *testing.T) {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: render.FieldOwner, Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)},
		{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)},
	}}}
	out, err := TrimManagedFields(s)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Service)
	for _, e := range got.ManagedFields {
		if e.FieldsV1 != nil {
			t.Errorf("%s: fieldsV1 kept", e.Manager)
		}
	}
	if !changedByOthers(got) {
		t.Error("changedByOthers lost the other manager")
	}
	if _, err := TrimManagedFields("not an object"); err != nil {
		t.Errorf("non-object: %v", err)
	}
}
