package config

import (
	"crypto/tls"
	"fmt"
	"slices"
)

// Policy is an FTPSPolicy spec, verbatim: the operator copies the custom
// resource's spec here, and the field names are the same.
type Policy struct {
	Control        ControlPolicy        `json:"control,omitempty"`
	TLS            TLSPolicy            `json:"tls,omitempty"`
	Data           DataPolicy           `json:"data,omitempty"`
	Authentication AuthenticationPolicy `json:"authentication,omitempty"`
}

// RequireTLS says which commands need a protected control connection.
type RequireTLS string

// RequireTLS values.
const (
	// RequireTLSAllCommands: only FEAT, AUTH, QUIT, NOOP, HELP and SYST before AUTH TLS.
	RequireTLSAllCommands RequireTLS = "AllCommands"
	// RequireTLSLogin: no USER, PASS or ACCT before AUTH TLS (the default).
	RequireTLSLogin RequireTLS = "Login"
	// RequireTLSOptional: clear logins allowed.
	RequireTLSOptional RequireTLS = "Optional"
)

// CCCMode says whether CCC (clear command channel) is allowed.
type CCCMode string

// CCCMode values.
const (
	CCCDeny            CCCMode = "Deny"
	CCCAllowAfterLogin CCCMode = "AllowAfterLogin"
)

// ControlPolicy governs the control connection.
type ControlPolicy struct {
	RequireTLS      RequireTLS `json:"requireTLS,omitempty"`
	ClearLoginUsers []string   `json:"clearLoginUsers,omitempty"`
	CCC             CCCMode    `json:"ccc,omitempty"`
}

// TLSPolicy governs the TLS versions and suites.
type TLSPolicy struct {
	MinVersion   string   `json:"minVersion,omitempty"`
	CipherSuites []string `json:"cipherSuites,omitempty"`
}

// Protection says which PROT levels data connections may use.
type Protection string

// Protection values.
const (
	ProtectionPrivate               Protection = "Private"
	ProtectionPrivateExceptListings Protection = "PrivateExceptListings"
	ProtectionClientChoice          Protection = "ClientChoice"
	ProtectionClear                 Protection = "Clear"
)

// SessionReuse says whether a protected data connection must resume the TLS
// session of its control connection.
type SessionReuse string

// SessionReuse values.
const (
	SessionReuseRequired SessionReuse = "Required"
	SessionReuseOptional SessionReuse = "Optional"
)

// ActiveMode says whether PORT/EPRT are allowed.
type ActiveMode string

// ActiveMode values.
const (
	ActiveModeDisabled          ActiveMode = "Disabled"
	ActiveModeClientAddressOnly ActiveMode = "ClientAddressOnly"
)

// DataPolicy governs the data connections.
type DataPolicy struct {
	Protection                   Protection   `json:"protection,omitempty"`
	SessionReuse                 SessionReuse `json:"sessionReuse,omitempty"`
	RequireSameAddress           *bool        `json:"requireSameAddress,omitempty"`
	RequireSameClientCertificate *bool        `json:"requireSameClientCertificate,omitempty"`
	ActiveMode                   ActiveMode   `json:"activeMode,omitempty"`
}

// ClientCertificateMode says what a TLS client certificate is for.
type ClientCertificateMode string

// ClientCertificateMode values.
const (
	ClientCertificateNone       ClientCertificateMode = "None"
	ClientCertificateOptional   ClientCertificateMode = "Optional"
	ClientCertificateRequired   ClientCertificateMode = "Required"
	ClientCertificateSufficient ClientCertificateMode = "Sufficient"
)

// AnonymousConnection says over which connections anonymous login works.
type AnonymousConnection string

// AnonymousConnection values.
const (
	AnonymousAny       AnonymousConnection = "Any"
	AnonymousClearOnly AnonymousConnection = "ClearOnly"
	AnonymousTLSOnly   AnonymousConnection = "TLSOnly"
)

// AuthenticationPolicy governs who may log in and how.
type AuthenticationPolicy struct {
	ClientCertificate ClientCertificateMode `json:"clientCertificate,omitempty"`
	Anonymous         AnonymousPolicy       `json:"anonymous,omitempty"`
}

// AnonymousPolicy: anonymous access is always read-only.
type AnonymousPolicy struct {
	Enabled    bool                `json:"enabled,omitempty"`
	Connection AnonymousConnection `json:"connection,omitempty"`
}

// ApplyDefaults fills the unset fields with the secure defaults.
func (p *Policy) ApplyDefaults() {
	if p.Control.RequireTLS == "" {
		p.Control.RequireTLS = RequireTLSLogin
	}
	if p.Control.CCC == "" {
		p.Control.CCC = CCCDeny
	}
	if p.TLS.MinVersion == "" {
		p.TLS.MinVersion = "1.2"
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

func oneOf[T ~string](field string, v T, allowed ...T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s: %q is not one of %v", field, v, allowed)
}

// Validate reports the first invalid field of a defaulted policy.
func (p *Policy) Validate() error {
	checks := []error{
		oneOf("policy.control.requireTLS", p.Control.RequireTLS, RequireTLSAllCommands, RequireTLSLogin, RequireTLSOptional),
		oneOf("policy.control.ccc", p.Control.CCC, CCCDeny, CCCAllowAfterLogin),
		oneOf("policy.tls.minVersion", p.TLS.MinVersion, "1.2", "1.3"),
		oneOf("policy.data.protection", p.Data.Protection, ProtectionPrivate, ProtectionPrivateExceptListings, ProtectionClientChoice, ProtectionClear),
		oneOf("policy.data.sessionReuse", p.Data.SessionReuse, SessionReuseRequired, SessionReuseOptional),
		oneOf("policy.data.activeMode", p.Data.ActiveMode, ActiveModeDisabled, ActiveModeClientAddressOnly),
		oneOf("policy.authentication.clientCertificate", p.Authentication.ClientCertificate, ClientCertificateNone, ClientCertificateOptional, ClientCertificateRequired, ClientCertificateSufficient),
		oneOf("policy.authentication.anonymous.connection", p.Authentication.Anonymous.Connection, AnonymousAny, AnonymousClearOnly, AnonymousTLSOnly),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if _, err := p.TLS.Suites(); err != nil {
		return err
	}
	return nil
}

// TLSMinVersion returns the crypto/tls constant of MinVersion.
func (p *TLSPolicy) TLSMinVersion() uint16 {
	if p.MinVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// Suites maps CipherSuites (IANA names, TLS 1.2 only) to crypto/tls IDs.
// Only the suites crypto/tls considers secure are accepted.
func (p *TLSPolicy) Suites() ([]uint16, error) {
	if len(p.CipherSuites) == 0 {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		byName[s.Name] = s.ID
	}
	out := make([]uint16, 0, len(p.CipherSuites))
	for _, name := range p.CipherSuites {
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("policy.tls.cipherSuites: %q is not a secure TLS 1.2 cipher suite known to Go (IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name)
		}
		out = append(out, id)
	}
	return out, nil
}
