package config

import (
	"crypto/tls"
	"fmt"
)

// Policy is what a server insists on, in the terms of RFC 4217 sections 8 to
// 10 (the server's view). Every default is the strict choice.
//
// It is both the spec of the FTPSPolicy custom resource (api/v1alpha1 uses
// this type, so the markers below make its schema) and the policy section of
// ftpsd.yaml: the operator copies the resource's spec here verbatim.
// Validate refuses exactly what the CRD's schema refuses.
// +kubebuilder:validation:XValidation:rule="!self.authentication.anonymous.enabled || self.authentication.anonymous.connection != 'ClearOnly' || self.control.requireTLS == 'Optional'",message="spec.authentication.anonymous.connection ClearOnly needs spec.control.requireTLS Optional: anonymous users could never log in otherwise",fieldPath=".authentication.anonymous.connection"
// +kubebuilder:validation:XValidation:rule="!self.authentication.anonymous.enabled || self.authentication.anonymous.connection == 'TLSOnly' || self.data.protection != 'Private'",message="spec.authentication.anonymous over a clear control connection needs clear data connections: set spec.data.protection to ClientChoice or PrivateExceptListings, or anonymous.connection to TLSOnly",fieldPath=".authentication.anonymous.connection"
type Policy struct {
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

// CCCMode says whether clients may drop TLS on the control connection (CCC,
// clear command channel).
// +kubebuilder:validation:Enum=Deny;AllowAfterLogin
type CCCMode string

// The CCC modes.
const (
	// CCCDeny answers CCC with 534.
	CCCDeny CCCMode = "Deny"
	// CCCAllowAfterLogin lets a logged-in user clear the control connection
	// (for NAT devices that must read PORT/PASV replies).
	CCCAllowAfterLogin CCCMode = "AllowAfterLogin"
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
	CCC CCCMode `json:"ccc,omitempty"`
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

// cipherSuites are the CipherSuite values (the enum above) and their
// crypto/tls IDs.
var cipherSuites = map[CipherSuite]uint16{
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256":       tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256":         tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384":       tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384":         tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

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

// Protection is the server's rule for PROT on data connections (RFC 4217
// section 9, the four server views).
// +kubebuilder:validation:Enum=Private;PrivateExceptListings;ClientChoice;Clear
type Protection string

// The data protection rules.
const (
	// ProtectionPrivate requires PROT P for every data connection (521
	// otherwise).
	ProtectionPrivate Protection = "Private"
	// ProtectionPrivateExceptListings lets LIST, NLST and MLSD use PROT C.
	ProtectionPrivateExceptListings Protection = "PrivateExceptListings"
	// ProtectionClientChoice accepts PROT C and PROT P.
	ProtectionClientChoice Protection = "ClientChoice"
	// ProtectionClear refuses PROT P (534) and sends data in the clear.
	ProtectionClear Protection = "Clear"
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
	Protection Protection `json:"protection,omitempty"`

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
	Enabled bool `json:"enabled,omitempty"`

	// connection anonymous users may use: Any, ClearOnly or TLSOnly (the
	// default).
	// +optional
	// +kubebuilder:default=TLSOnly
	Connection AnonymousConnection `json:"connection,omitempty"`
}

// ApplyDefaults fills the unset fields with the secure defaults, the same as
// the CRD's +kubebuilder:default markers.
func (p *Policy) ApplyDefaults() {
	if p.Control.RequireTLS == "" {
		p.Control.RequireTLS = RequireTLSLogin
	}
	if p.Control.CCC == "" {
		p.Control.CCC = CCCDeny
	}
	if p.TLS.MinVersion == "" {
		p.TLS.MinVersion = TLSVersion12
	}
	d := &p.Data
	if d.Protection == "" {
		d.Protection = ProtectionPrivate
	}
	if d.SessionReuse == "" {
		d.SessionReuse = SessionReuseRequired
	}
	if d.RequireSameAddress == nil {
		d.RequireSameAddress = ptr(true)
	}
	if d.RequireSameClientCertificate == nil {
		d.RequireSameClientCertificate = ptr(true)
	}
	if d.ActiveMode == "" {
		d.ActiveMode = ActiveModeDisabled
	}
	if p.Authentication.ClientCertificate == "" {
		p.Authentication.ClientCertificate = ClientCertificateNone
	}
	if p.Authentication.Anonymous.Connection == "" {
		p.Authentication.Anonymous.Connection = AnonymousTLSOnly
	}
}

func ptr[T any](v T) *T { return &v }

// TLSMinVersion returns the crypto/tls constant of MinVersion.
func (p *TLSPolicy) TLSMinVersion() uint16 {
	if p.MinVersion == TLSVersion13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// Suites maps CipherSuites (IANA names, TLS 1.2 only) to crypto/tls IDs.
// Only the CipherSuite values are accepted.
func (p *TLSPolicy) Suites() ([]uint16, error) {
	if len(p.CipherSuites) == 0 {
		return nil, nil
	}
	out := make([]uint16, 0, len(p.CipherSuites))
	for _, name := range p.CipherSuites {
		id, ok := cipherSuites[name]
		if !ok {
			return nil, fmt.Errorf("policy.tls.cipherSuites: %q is not one of the TLS 1.2 ECDHE AEAD cipher suites ftpsd offers (IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name)
		}
		out = append(out, id)
	}
	return out, nil
}
