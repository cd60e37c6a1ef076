package v1alpha1

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The defaults of this API live in the schema (kubebuilder default markers),
// so that the API server fills them in and GitOps tools see no drift. Go code
// that reads a field with a default calls its <Field>OrDefault accessor
// below, which returns the field, or the Default* constant declared beside
// the field's type when the field is unset: objects built in Go (tests, the
// renderers' tables) never went through the API server. Each constant is
// the marker's value typed once more; TestDefaultAccessorsMatchSchema checks
// against a real API server that every accessor of an empty object returns
// what the server fills in.
//
// Adding a defaulted field that Go code reads: a Default* constant beside its
// type, an accessor here, and a row in TestDefaultAccessorsMatchSchema's
// table (api/v1alpha1/defaults_accessors_test.go).
//
// Defaults that are the zero value (spec.ports.implicit 0,
// spec.proxyProtocol.enabled false, FTPSUser spec.disabled false) need no
// accessor: the field is read directly.
//
// Accessors have pointer receivers and accept a nil receiver (an optional
// pointer field left out), which gives the default.

// ReplicasOrDefault is spec.replicas, or DefaultReplicas when unset.
func (s *FTPSServerSpec) ReplicasOrDefault() int32 {
	if s == nil || s.Replicas == nil {
		return DefaultReplicas
	}
	return *s.Replicas
}

// DurationOrDefault is spec.tls.duration, or DefaultCertificateDuration when
// unset (or not positive).
func (t *ServerTLS) DurationOrDefault() time.Duration {
	if t == nil || t.Duration == nil || t.Duration.Duration <= 0 {
		return DefaultCertificateDuration
	}
	return t.Duration.Duration
}

// KindOrDefault is spec.tls.issuerRef.kind, or DefaultIssuerKind.
func (r *IssuerReference) KindOrDefault() string {
	if r == nil || r.Kind == "" {
		return DefaultIssuerKind
	}
	return r.Kind
}

// GroupOrDefault is spec.tls.issuerRef.group, or DefaultIssuerGroup.
func (r *IssuerReference) GroupOrDefault() string {
	if r == nil || r.Group == "" {
		return DefaultIssuerGroup
	}
	return r.Group
}

// AlgorithmOrDefault is spec.tls.privateKey.algorithm, or DefaultKeyAlgorithm.
func (k *PrivateKey) AlgorithmOrDefault() KeyAlgorithm {
	if k == nil || k.Algorithm == "" {
		return DefaultKeyAlgorithm
	}
	return k.Algorithm
}

// KeyOrDefault is spec.tls.clientCA.key, or DefaultClientCAKey.
func (c *ClientCASource) KeyOrDefault() string {
	if c == nil || c.Key == "" {
		return DefaultClientCAKey
	}
	return c.Key
}

// ControlOrDefault is spec.ports.control, or DefaultControlPort.
func (p *ServerPorts) ControlOrDefault() int32 {
	if p == nil || p.Control == 0 {
		return DefaultControlPort
	}
	return p.Control
}

// TypeOrDefault is spec.service.type, or DefaultServiceType.
func (s *ServiceSpec) TypeOrDefault() ServiceType {
	if s == nil || s.Type == "" {
		return DefaultServiceType
	}
	return s.Type
}

// ExternalTrafficPolicyOrDefault is spec.service.externalTrafficPolicy, or
// DefaultExternalTrafficPolicy.
func (s *ServiceSpec) ExternalTrafficPolicyOrDefault() corev1.ServiceExternalTrafficPolicy {
	if s == nil || s.ExternalTrafficPolicy == "" {
		return DefaultExternalTrafficPolicy
	}
	return s.ExternalTrafficPolicy
}

// ModeOrDefault is spec.passive.mode, or DefaultPassiveMode.
func (p *PassiveSpec) ModeOrDefault() PassiveMode {
	if p == nil || p.Mode == "" {
		return DefaultPassiveMode
	}
	return p.Mode
}

// PortRangeStartOrDefault is spec.passive.portRangeStart, or
// DefaultPortRangeStart.
func (p *PassiveSpec) PortRangeStartOrDefault() int32 {
	if p == nil || p.PortRangeStart == 0 {
		return DefaultPortRangeStart
	}
	return p.PortRangeStart
}

// PortsPerReplicaOrDefault is spec.passive.portsPerReplica, or
// DefaultPortsPerReplica.
func (p *PassiveSpec) PortsPerReplicaOrDefault() int32 {
	if p == nil || p.PortsPerReplica == 0 {
		return DefaultPortsPerReplica
	}
	return p.PortsPerReplica
}

// SizeOrDefault is spec.storage.size, or DefaultStorageSize.
func (s *StorageSpec) SizeOrDefault() resource.Quantity {
	if s == nil || s.Size.IsZero() {
		return resource.MustParse(DefaultStorageSize)
	}
	return s.Size.DeepCopy()
}

// AccessModesOrDefault is a copy of spec.storage.accessModes, or
// [DefaultAccessMode].
func (s *StorageSpec) AccessModesOrDefault() []corev1.PersistentVolumeAccessMode {
	if s == nil || len(s.AccessModes) == 0 {
		return []corev1.PersistentVolumeAccessMode{DefaultAccessMode}
	}
	return slices.Clone(s.AccessModes)
}

// ReclaimPolicyOrDefault is spec.storage.reclaimPolicy, or
// DefaultReclaimPolicy.
func (s *StorageSpec) ReclaimPolicyOrDefault() ReclaimPolicy {
	if s == nil || s.ReclaimPolicy == "" {
		return DefaultReclaimPolicy
	}
	return s.ReclaimPolicy
}

// MaxSessionsOrDefault is spec.limits.maxSessions, or DefaultMaxSessions.
func (l *Limits) MaxSessionsOrDefault() int32 {
	if l == nil || l.MaxSessions == 0 {
		return DefaultMaxSessions
	}
	return l.MaxSessions
}

// MaxSessionsPerIPOrDefault is spec.limits.maxSessionsPerIP, or
// DefaultMaxSessionsPerIP.
func (l *Limits) MaxSessionsPerIPOrDefault() int32 {
	if l == nil || l.MaxSessionsPerIP == 0 {
		return DefaultMaxSessionsPerIP
	}
	return l.MaxSessionsPerIP
}

// IdleTimeoutOrDefault is spec.limits.idleTimeout, or DefaultIdleTimeout.
func (l *Limits) IdleTimeoutOrDefault() time.Duration {
	if l == nil || l.IdleTimeout == nil || l.IdleTimeout.Duration == 0 {
		return DefaultIdleTimeout
	}
	return l.IdleTimeout.Duration
}

// LoginTimeoutOrDefault is spec.limits.loginTimeout, or DefaultLoginTimeout.
func (l *Limits) LoginTimeoutOrDefault() time.Duration {
	if l == nil || l.LoginTimeout == nil || l.LoginTimeout.Duration == 0 {
		return DefaultLoginTimeout
	}
	return l.LoginTimeout.Duration
}

// MaxLoginFailuresOrDefault is spec.limits.maxLoginFailures, or
// DefaultMaxLoginFailures.
func (l *Limits) MaxLoginFailuresOrDefault() int32 {
	if l == nil || l.MaxLoginFailures == 0 {
		return DefaultMaxLoginFailures
	}
	return l.MaxLoginFailures
}

// BanDurationOrDefault is spec.limits.banDuration, or DefaultBanDuration.
func (l *Limits) BanDurationOrDefault() time.Duration {
	if l == nil || l.BanDuration == nil || l.BanDuration.Duration == 0 {
		return DefaultBanDuration
	}
	return l.BanDuration.Duration
}

// KeyOrDefault is the Secret key, or DefaultSecretKey (FTPSUser
// spec.passwordSecretRef.key).
func (s *SecretKeySelector) KeyOrDefault() string {
	if s == nil || s.Key == "" {
		return DefaultSecretKey
	}
	return s.Key
}

// DefaultPermissions is FTPSUser spec.permissions' default: read-only
// (marker default={List,Read} in ftpsuser_types.go). A new list each call.
func DefaultPermissions() []Permission {
	return []Permission{PermissionList, PermissionRead}
}

// PermissionsOrDefault is a copy of spec.permissions, or
// DefaultPermissions() when unset. An empty list that the API server kept
// (permissions: []) is returned as it is: no permission at all.
func (s *FTPSUserSpec) PermissionsOrDefault() []Permission {
	if s == nil || s.Permissions == nil {
		return DefaultPermissions()
	}
	return slices.Clone(s.Permissions)
}
