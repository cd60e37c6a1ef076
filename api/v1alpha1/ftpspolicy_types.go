package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// FTPSPolicySpec is what a server insists on. It is ftpsd's own policy type
// (the policy section of ftpsd.yaml), defined once in ftpsd/config with its
// schema markers, defaults and validation: the operator copies an
// FTPSPolicy's spec into ftpsd.yaml verbatim. FTPSPolicy's spec field is
// declared as config.Policy so that the API reference (crd-ref-docs, which
// does not follow aliases) documents the type itself.
type FTPSPolicySpec = config.Policy

// FTPSPolicy is a reusable set of FTPS rules that servers refer to by name.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ftpsp,categories=ftps
// +kubebuilder:printcolumn:name="Require TLS",type=string,JSONPath=`.spec.control.requireTLS`
// +kubebuilder:printcolumn:name="Data",type=string,JSONPath=`.spec.data.protection`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FTPSPolicy struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the policy.
	// +required
	Spec config.Policy `json:"spec"`
}

// FTPSPolicyList is a list of FTPSPolicies.
// +kubebuilder:object:root=true
type FTPSPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []FTPSPolicy `json:"items"`
}
