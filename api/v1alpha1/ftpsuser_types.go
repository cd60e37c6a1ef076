package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults of FTPSUserSpec (see defaults.go): spec.permissions defaults to
// DefaultPermissions() (marker default={List,Read}), a list and so not a
// constant; spec.disabled defaults to false, its zero value, so Go code reads
// the field itself.

// FTPSUserSpec is one login of one server.
// +kubebuilder:validation:XValidation:rule="has(self.passwordSecretRef) || has(self.clientCertificate)",message="spec: set passwordSecretRef, clientCertificate or both, so that the user has a way to log in"
type FTPSUserSpec struct {
	// serverRef names the FTPSServer (same namespace) this user logs in to.
	// +required
	ServerRef LocalObjectReference `json:"serverRef"`

	// username is the name given to USER: lower case letters, digits, '.',
	// '_' and '-', starting and ending with a letter or digit, at most 64.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['anonymous', 'ftp'])",message="spec.username: anonymous and ftp are reserved for anonymous access (FTPSPolicy spec.authentication.anonymous)"
	Username string `json:"username"`

	// passwordSecretRef names the Secret key holding the plain password. The
	// operator hashes it; the plain password never reaches the pods.
	// +optional
	PasswordSecretRef *SecretKeySelector `json:"passwordSecretRef,omitempty"`

	// clientCertificate maps a TLS client certificate to this user (by common
	// name, by SHA-256 fingerprint, or both must match).
	// +optional
	ClientCertificate *ClientCertificateIdentity `json:"clientCertificate,omitempty"`

	// homeDirectory is the user's root, relative to the server's storage.
	// Empty means a folder named after the username.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/') && !self.split('/').exists(p, p == '..')",message="spec.homeDirectory must be a relative path inside the server's storage, without '..' parts (for example partners/acme)"
	HomeDirectory string `json:"homeDirectory,omitempty"`

	// permissions the user holds in their home: List, Read, Write, Delete,
	// Rename, MakeDir. The default is read-only (List, Read).
	// +optional
	// +listType=set
	// +kubebuilder:default={List,Read}
	// +kubebuilder:validation:MaxItems=6
	Permissions []Permission `json:"permissions,omitempty"`

	// disabled refuses the user's logins without deleting the user.
	// +optional
	// +kubebuilder:default=false
	Disabled bool `json:"disabled"`
}

// ClientCertificateIdentity is how a client certificate maps to a user.
// +kubebuilder:validation:XValidation:rule="has(self.commonName) || has(self.sha256Fingerprint)",message="spec.clientCertificate: set commonName, sha256Fingerprint or both"
type ClientCertificateIdentity struct {
	// commonName is the certificate subject's CN.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	CommonName string `json:"commonName,omitempty"`

	// sha256Fingerprint of the DER certificate, 64 hex digits (colons allowed).
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$`
	SHA256Fingerprint string `json:"sha256Fingerprint,omitempty"`
}

// FTPSUserStatus is what the operator found.
type FTPSUserStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready says whether the user's server and password Secret
	// exist and the user is in the server's users file.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FTPSUser is a login of one FTPSServer.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ftpsu,categories=ftps
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.serverRef.name`
// +kubebuilder:printcolumn:name="Username",type=string,JSONPath=`.spec.username`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FTPSUser struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the user.
	// +required
	Spec FTPSUserSpec `json:"spec"`

	// status is what the operator found.
	// +optional
	Status FTPSUserStatus `json:"status,omitzero"`
}

// FTPSUserList is a list of FTPSUsers.
// +kubebuilder:object:root=true
type FTPSUserList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []FTPSUser `json:"items"`
}
