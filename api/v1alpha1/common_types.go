package v1alpha1

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// name of the object, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Defaults of SecretKeySelector (see defaults.go).
const (
	// DefaultSecretKey is the key of a SecretKeySelector's default (marker
	// default=password): FTPSUser spec.passwordSecretRef.key.
	DefaultSecretKey = "password"
)

// SecretKeySelector names one key of a Secret in the same namespace.
type SecretKeySelector struct {
	// name of the Secret, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key in the Secret's data.
	// +optional
	// +kubebuilder:default=password
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// Permission is one thing a user may do in their home directory.
// +kubebuilder:validation:Enum=List;Read;Write;Delete;Rename;MakeDir
type Permission string

// The permissions a user can hold. Each FTP command checks the one it needs.
const (
	// PermissionList allows LIST, NLST, MLSD, MLST, STAT <path>, SIZE and MDTM.
	PermissionList Permission = "List"
	// PermissionRead allows RETR.
	PermissionRead Permission = "Read"
	// PermissionWrite allows STOR, STOU and APPE.
	PermissionWrite Permission = "Write"
	// PermissionDelete allows DELE and RMD.
	PermissionDelete Permission = "Delete"
	// PermissionRename allows RNFR/RNTO.
	PermissionRename Permission = "Rename"
	// PermissionMakeDir allows MKD.
	PermissionMakeDir Permission = "MakeDir"
)

// Condition types shared by the kinds of this API.
const (
	// ConditionReady is the summary: the object does what its spec asks.
	ConditionReady = "Ready"
	// ConditionCertificateReady: the server's TLS certificate is issued and valid.
	ConditionCertificateReady = "CertificateReady"
	// ConditionServicesReady: the control and passive Services have their addresses.
	ConditionServicesReady = "ServicesReady"
	// ConditionAvailable: at least one ftpsd replica is ready to serve.
	ConditionAvailable = "Available"
	// ConditionProgressing: a change is being rolled out.
	ConditionProgressing = "Progressing"
	// ConditionDegraded: something the operator cannot fix by itself is wrong.
	ConditionDegraded = "Degraded"
)
