package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FTPSPolicySpec is what a server insists on, in the terms of RFC 4217
// sections 8 to 10 (the server's view). Every default is the strict choice.
// +kubebuilder:validation:XValidation:rule="!self.authentication.anonymous.enabled || self.authentication.anonymous.connection != 'ClearOnly' || self.control.requireTLS == 'Optional'",message="spec.authentication.anonymous.connection ClearOnly needs spec.control.requireTLS Optional: anonymous users could never log in otherwise",fieldPath=".authentication.anonymous.connection"
// +kubebuilder:validation:XValidation:rule="!self.authentication.anonymous.enabled || self.authentication.anonymous.connection == 'TLSOnly' || self.data.protection != 'Private'",message="spec.authentication.anonymous over a clear control connection needs clear data connections: set spec.data.protection to ClientChoice or PrivateExceptListings, or anonymous.connection to TLSOnly",fieldPath=".authentication.anonymous.connection"
type FTPSPolicySpec struct {
	// control is the policy for the control connection.
	// +optional
	// +kubebuilder:default={}
	Control ControlPolicy `json:"control,omitzero"`

	// tls is the policy for TLS itself, on control and data connections.
	// +optional
	// +kubebuilder:default={}
	TLS TLSPolicy `json:"tls,omitzero"`

	// data is the policy for data connections.
	// +optional
	// +kubebuilder:default={}
	Data DataPolicy `json:"data,omitzero"`

	// authentication is how users prove who they are.
	// +optional
	// +kubebuilder:default={}
	Authentication AuthenticationPolicy `json:"authentication,omitzero"`
}

// RequireTLS says which commands need a protected control connection.
// +kubebuilder:validation:Enum=AllCommands;Login;Optional
type RequireTLS string

// The control-connection TLS requirements.
const (
	// RequireTLSAllCommands: only AUTH, FEAT, QUIT, NOOP, HELP and SYST
	// before AUTH TLS; anything else gets 530.
	RequireTLSAllCommands RequireTLS = "AllCommands"
	// RequireTLSLogin: USER, PASS and ACCT before AUTH TLS get 530 (RFC 4217
	// section 11), except for clearLoginUsers.
	RequireTLSLogin RequireTLS = "Login"
	// RequireTLSOptional: clients may log in without TLS.
	RequireTLSOptional RequireTLS = "Optional"
)

// CCCPolicy says whether clients may drop TLS on the control connection.
// +kubebuilder:validation:Enum=Deny;AllowAfterLogin
type CCCPolicy string

// The CCC policies.
const (
	// CCCDeny answers CCC with 534.
	CCCDeny CCCPolicy = "Deny"
	// CCCAllowAfterLogin lets a logged-in user clear the control connection
	// (for NAT devices that must read PORT/PASV replies).
	CCCAllowAfterLogin CCCPolicy = "AllowAfterLogin"
)

// ControlPolicy is the policy for the control connection (RFC 4217 section 9).
// +kubebuilder:validation:XValidation:rule="!has(self.clearLoginUsers) || size(self.clearLoginUsers) == 0 || (has(self.requireTLS) && self.requireTLS == 'Login')",message="spec.control.clearLoginUsers only applies with requireTLS: Login (with AllCommands nobody logs in without TLS, with Optional everybody may)",fieldPath=".clearLoginUsers"
type ControlPolicy struct {
	// requireTLS: AllCommands, Login (the default) or Optional.
	// +optional
	// +kubebuilder:default=Login
	RequireTLS RequireTLS `json:"requireTLS,omitempty"`

	// clearLoginUsers may log in without TLS even when requireTLS is Login
	// (RFC 4217: "deny insecure USER commands for certain users" is the
	// default; these are the exceptions).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`
	ClearLoginUsers []string `json:"clearLoginUsers,omitempty"`

	// ccc: Deny (534, the default) or AllowAfterLogin.
	// +optional
	// +kubebuilder:default=Deny
	CCC CCCPolicy `json:"ccc,omitempty"`
}

// TLSVersion is a TLS protocol version.
// +kubebuilder:validation:Enum="1.2";"1.3"
type TLSVersion string

// The TLS versions ftpsd accepts as a minimum.
const (
	TLSVersion12 TLSVersion = "1.2"
	TLSVersion13 TLSVersion = "1.3"
)

// CipherSuite is a TLS 1.2 cipher suite by its IANA name. Only ECDHE with
// AEAD ciphers are offered; TLS 1.3 suites are fixed by the protocol.
// +kubebuilder:validation:Enum=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384;TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
type CipherSuite string

// TLSPolicy is the policy for TLS on control and data connections.
// +kubebuilder:validation:XValidation:rule="!has(self.minVersion) || self.minVersion == '1.2' || !has(self.cipherSuites) || size(self.cipherSuites) == 0",message="spec.tls.cipherSuites applies to TLS 1.2 only; with minVersion 1.3 remove cipherSuites",fieldPath=".cipherSuites"
type TLSPolicy struct {
	// minVersion is the lowest TLS version accepted: 1.2 (the default) or 1.3.
	// +optional
	// +kubebuilder:default="1.2"
	MinVersion TLSVersion `json:"minVersion,omitempty"`

	// cipherSuites restricts the TLS 1.2 suites. Empty means Go's secure
	// defaults (ECDHE with AES-GCM or ChaCha20-Poly1305).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=6
	CipherSuites []CipherSuite `json:"cipherSuites,omitempty"`
}

// DataProtection is the server's rule for PROT on data connections
// (RFC 4217 section 9, the four server views).
// +kubebuilder:validation:Enum=Private;PrivateExceptListings;ClientChoice;Clear
type DataProtection string

// The data protection rules.
const (
	// DataPrivate requires PROT P for every data connection (521 otherwise).
	DataPrivate DataProtection = "Private"
	// DataPrivateExceptListings lets LIST, NLST and MLSD use PROT C.
	DataPrivateExceptListings DataProtection = "PrivateExceptListings"
	// DataClientChoice accepts PROT C and PROT P.
	DataClientChoice DataProtection = "ClientChoice"
	// DataClear refuses PROT P (534) and sends data in the clear.
	DataClear DataProtection = "Clear"
)

// SessionReuse says whether a data connection must resume the control
// connection's TLS session.
// +kubebuilder:validation:Enum=Required;Optional
type SessionReuse string

// The session reuse rules.
const (
	SessionReuseRequired SessionReuse = "Required"
	SessionReuseOptional SessionReuse = "Optional"
)

// ActiveMode says whether PORT and EPRT are allowed.
// +kubebuilder:validation:Enum=Disabled;ClientAddressOnly
type ActiveMode string

// The active mode rules.
const (
	// ActiveModeDisabled refuses PORT and EPRT.
	ActiveModeDisabled ActiveMode = "Disabled"
	// ActiveModeClientAddressOnly connects only to the control connection's
	// own client address, never to a third party (RFC 2577).
	ActiveModeClientAddressOnly ActiveMode = "ClientAddressOnly"
)

// DataPolicy is the policy for data connections.
type DataPolicy struct {
	// protection: Private (the default), PrivateExceptListings, ClientChoice
	// or Clear. Checked on the command that opens the connection.
	// +optional
	// +kubebuilder:default=Private
	Protection DataProtection `json:"protection,omitempty"`

	// sessionReuse: Required (the default) makes every protected data
	// connection resume this control connection's TLS session, so that nobody
	// else can take the data connection (RFC 4217 section 10).
	// +optional
	// +kubebuilder:default=Required
	SessionReuse SessionReuse `json:"sessionReuse,omitempty"`

	// requireSameAddress refuses a data connection from any address but the
	// control connection's client.
	// +optional
	// +kubebuilder:default=true
	RequireSameAddress *bool `json:"requireSameAddress,omitempty"`

	// requireSameClientCertificate refuses a data connection whose client
	// certificate differs from the control connection's (RFC 4217 section 15).
	// +optional
	// +kubebuilder:default=true
	RequireSameClientCertificate *bool `json:"requireSameClientCertificate,omitempty"`

	// activeMode: Disabled (the default) or ClientAddressOnly.
	// +optional
	// +kubebuilder:default=Disabled
	ActiveMode ActiveMode `json:"activeMode,omitempty"`
}

// ClientCertificateMode says what a client certificate is worth.
// +kubebuilder:validation:Enum=None;Optional;Required;Sufficient
type ClientCertificateMode string

// The client certificate modes.
const (
	// ClientCertificateNone does not ask for a certificate.
	ClientCertificateNone ClientCertificateMode = "None"
	// ClientCertificateOptional verifies one if the client sends it.
	ClientCertificateOptional ClientCertificateMode = "Optional"
	// ClientCertificateRequired refuses a handshake without a valid one.
	ClientCertificateRequired ClientCertificateMode = "Required"
	// ClientCertificateSufficient logs a user in with 232 and no PASS when
	// the verified certificate maps to the name given in USER.
	ClientCertificateSufficient ClientCertificateMode = "Sufficient"
)

// AnonymousConnection is the kind of connection anonymous users may use.
// +kubebuilder:validation:Enum=Any;ClearOnly;TLSOnly
type AnonymousConnection string

// The anonymous connection kinds.
const (
	AnonymousAny       AnonymousConnection = "Any"
	AnonymousClearOnly AnonymousConnection = "ClearOnly"
	AnonymousTLSOnly   AnonymousConnection = "TLSOnly"
)

// AuthenticationPolicy is how users prove who they are.
type AuthenticationPolicy struct {
	// clientCertificate: None (the default), Optional, Required or
	// Sufficient. Anything but None needs spec.tls.clientCA on the server.
	// +optional
	// +kubebuilder:default=None
	ClientCertificate ClientCertificateMode `json:"clientCertificate,omitempty"`

	// anonymous access, off by default; always read-only.
	// +optional
	// +kubebuilder:default={}
	Anonymous AnonymousPolicy `json:"anonymous,omitzero"`
}

// AnonymousPolicy is anonymous (ftp/anonymous) access: read-only, and only
// over the connection kind it names.
type AnonymousPolicy struct {
	// enabled turns anonymous read-only access on.
	// +optional
	// +kubebuilder:default=false
	Enabled bool `json:"enabled"`

	// connection anonymous users may use: Any, ClearOnly or TLSOnly (the
	// default).
	// +optional
	// +kubebuilder:default=TLSOnly
	Connection AnonymousConnection `json:"connection,omitempty"`
}

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
	Spec FTPSPolicySpec `json:"spec"`
}

// FTPSPolicyList is a list of FTPSPolicies.
// +kubebuilder:object:root=true
type FTPSPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []FTPSPolicy `json:"items"`
}
