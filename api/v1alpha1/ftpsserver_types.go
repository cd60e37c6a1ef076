package v1alpha1

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// Defaults of FTPSServerSpec: the values of its kubebuilder default markers,
// for Go code that reads an object the API server has not defaulted (see
// defaults.go; TestDefaultAccessorsMatchSchema checks that they agree).
const (
	// DefaultReplicas is spec.replicas' default (marker default=1).
	DefaultReplicas int32 = 1
)

// FTPSServerSpec describes an FTPS endpoint: its replicas, certificate,
// policy, ports, Services, passive ports, storage and limits.
//
// The passive port range is checked against the other ports here, where
// replicas, ports, service type and passive settings are all in view.
// +kubebuilder:validation:XValidation:rule="self.passive.portRangeStart + self.replicas * self.passive.portsPerReplica - 1 <= 65535",message="spec.passive: the passive range (portRangeStart + replicas x portsPerReplica - 1) must end at or below 65535; lower portRangeStart, portsPerReplica or replicas",fieldPath=".passive.portRangeStart"
// +kubebuilder:validation:XValidation:rule="self.ports.control < self.passive.portRangeStart || self.ports.control >= self.passive.portRangeStart + self.replicas * self.passive.portsPerReplica",message="spec.ports.control lies inside the passive range (spec.passive.portRangeStart .. + replicas x portsPerReplica); move one of them",fieldPath=".ports.control"
// +kubebuilder:validation:XValidation:rule="self.ports.implicit == 0 || self.ports.implicit < self.passive.portRangeStart || self.ports.implicit >= self.passive.portRangeStart + self.replicas * self.passive.portsPerReplica",message="spec.ports.implicit lies inside the passive range (spec.passive.portRangeStart .. + replicas x portsPerReplica); move one of them",fieldPath=".ports.implicit"
// +kubebuilder:validation:XValidation:rule="self.service.type != 'NodePort' || (self.passive.portRangeStart >= 30000 && self.passive.portRangeStart + self.replicas * self.passive.portsPerReplica - 1 <= 32767)",message="spec.passive: with spec.service.type NodePort the passive range must lie inside 30000-32767 (each passive port is exposed as the same nodePort); set portRangeStart to 30000 or more and keep the range below 32768",fieldPath=".passive.portRangeStart"
// +kubebuilder:validation:XValidation:rule="!has(self.storage.existingClaim) || self.replicas <= 1 || self.storage.accessModes.exists(m, m == 'ReadWriteMany')",message="spec.storage.existingClaim is mounted by every replica: with more than one replica set spec.storage.accessModes to [ReadWriteMany] (and use a ReadWriteMany claim), or use one replica",fieldPath=".storage.existingClaim"
type FTPSServerSpec struct {
	// replicas is the number of ftpsd pods. Each replica owns its own slice
	// of the passive port range (see passive).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=64
	Replicas *int32 `json:"replicas,omitempty"`

	// image is the ftpsd container image. Empty means the image bundled with
	// the operator, so an operator upgrade also upgrades ftpsd.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// tls chooses where the server's certificate comes from: a cert-manager
	// issuer (issuerRef), a Secret you manage (secretName), or, with neither,
	// a self-signed certificate that the operator makes and renews.
	// +optional
	// +kubebuilder:default={}
	TLS ServerTLS `json:"tls,omitzero"`

	// policyRef names the FTPSPolicy (same namespace) this server enforces.
	// Absent means the strictest sensible policy: TLS before login, PROT P on
	// every data connection, TLS session reuse, no CCC, no active mode.
	// +optional
	PolicyRef *LocalObjectReference `json:"policyRef,omitempty"`

	// ports are the control ports the Service exposes.
	// +optional
	// +kubebuilder:default={}
	Ports ServerPorts `json:"ports,omitzero"`

	// service shapes the control Service and the passive Services.
	// +optional
	// +kubebuilder:default={}
	Service ServiceSpec `json:"service,omitzero"`

	// passive configures passive-mode (PASV/EPSV) data ports.
	// +optional
	// +kubebuilder:default={}
	Passive PassiveSpec `json:"passive,omitzero"`

	// storage is where the users' files live.
	// +optional
	// +kubebuilder:default={}
	Storage StorageSpec `json:"storage,omitzero"`

	// limits protect the server from overload and password guessing.
	// +optional
	// +kubebuilder:default={}
	Limits Limits `json:"limits,omitzero"`

	// proxyProtocol accepts PROXY protocol v1/v2 headers from a load balancer
	// so that ftpsd sees the real client address.
	// +optional
	// +kubebuilder:default={}
	ProxyProtocol ProxyProtocol `json:"proxyProtocol,omitzero"`

	// pod customises the ftpsd pods.
	// +optional
	Pod PodSpec `json:"pod,omitzero"`
}

// Defaults of ServerTLS (see defaults.go).
const (
	// DefaultCertificateDuration is spec.tls.duration's default (marker
	// default="2160h").
	DefaultCertificateDuration = 2160 * time.Hour
)

// ServerTLS is the server certificate's source and shape.
// +kubebuilder:validation:XValidation:rule="!(has(self.issuerRef) && has(self.secretName))",message="spec.tls: set at most one of issuerRef (cert-manager issues the certificate) and secretName (a kubernetes.io/tls Secret you manage); with neither the operator makes a self-signed certificate"
// +kubebuilder:validation:XValidation:rule="!has(self.renewBefore) || duration(self.renewBefore) < duration(self.duration)",message="spec.tls.renewBefore must be shorter than spec.tls.duration, or the certificate would be renewed as soon as it is issued",fieldPath=".renewBefore"
type ServerTLS struct {
	// issuerRef is the cert-manager Issuer or ClusterIssuer that issues the
	// server certificate. The operator creates and owns a Certificate.
	// +optional
	IssuerRef *IssuerReference `json:"issuerRef,omitempty"`

	// secretName is a kubernetes.io/tls Secret in the same namespace that
	// you manage yourself (tls.crt, tls.key). ftpsd reloads it when it changes.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`

	// dnsNames are the host names the certificate is issued for, the names
	// clients connect to. Empty means the control Service's cluster DNS names.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	DNSNames []string `json:"dnsNames,omitempty"`

	// duration is the certificate's requested lifetime (cert-manager and
	// self-signed), a Go duration such as 2160h; at least 1h.
	// +optional
	// +kubebuilder:default="2160h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h')",message="spec.tls.duration must be at least 1h"
	Duration *metav1.Duration `json:"duration,omitempty"`

	// renewBefore is how long before expiry the certificate is renewed.
	// Empty means a third of duration.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m')",message="spec.tls.renewBefore must be at least 5m"
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// privateKey is the key algorithm and size of the server certificate.
	// +optional
	// +kubebuilder:default={}
	PrivateKey PrivateKey `json:"privateKey,omitzero"`

	// clientCA names a Secret whose key holds the PEM CA bundle that client
	// certificates must chain to. Needed when the policy uses client
	// certificates.
	// +optional
	ClientCA *ClientCASource `json:"clientCA,omitempty"`
}

// Defaults of IssuerReference (see defaults.go).
const (
	// DefaultIssuerKind is spec.tls.issuerRef.kind's default (marker
	// default=Issuer).
	DefaultIssuerKind = "Issuer"
	// DefaultIssuerGroup is spec.tls.issuerRef.group's default (marker
	// default=cert-manager.io).
	DefaultIssuerGroup = "cert-manager.io"
)

// IssuerReference names a cert-manager issuer.
type IssuerReference struct {
	// name of the issuer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// kind of the issuer: Issuer (same namespace) or ClusterIssuer.
	// +optional
	// +kubebuilder:default=Issuer
	// +kubebuilder:validation:Enum=Issuer;ClusterIssuer
	Kind string `json:"kind,omitempty"`

	// group of the issuer's API; cert-manager.io for cert-manager's own
	// issuers, another group for an external issuer.
	// +optional
	// +kubebuilder:default=cert-manager.io
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
}

// KeyAlgorithm is a private key algorithm.
// +kubebuilder:validation:Enum=ECDSA;RSA;Ed25519
type KeyAlgorithm string

// The key algorithms a server certificate can use.
const (
	KeyAlgorithmECDSA   KeyAlgorithm = "ECDSA"
	KeyAlgorithmRSA     KeyAlgorithm = "RSA"
	KeyAlgorithmEd25519 KeyAlgorithm = "Ed25519"
)

// Defaults of PrivateKey (see defaults.go).
const (
	// DefaultKeyAlgorithm is spec.tls.privateKey.algorithm's default (marker
	// default=ECDSA).
	DefaultKeyAlgorithm = KeyAlgorithmECDSA
)

// PrivateKey is a private key's algorithm and size.
// +kubebuilder:validation:XValidation:rule="!has(self.algorithm) || !has(self.size) || self.algorithm != 'RSA' || self.size in [2048, 3072, 4096]",message="spec.tls.privateKey.size for RSA must be 2048, 3072 or 4096",fieldPath=".size"
// +kubebuilder:validation:XValidation:rule="!has(self.algorithm) || !has(self.size) || self.algorithm != 'ECDSA' || self.size in [256, 384, 521]",message="spec.tls.privateKey.size for ECDSA must be 256, 384 or 521",fieldPath=".size"
// +kubebuilder:validation:XValidation:rule="!has(self.algorithm) || !has(self.size) || self.algorithm != 'Ed25519'",message="spec.tls.privateKey.size must be left out for Ed25519, whose size is fixed",fieldPath=".size"
type PrivateKey struct {
	// algorithm of the key. ECDSA P-256 is fast and understood by every
	// current FTPS client; choose RSA for very old clients.
	// +optional
	// +kubebuilder:default=ECDSA
	Algorithm KeyAlgorithm `json:"algorithm,omitempty"`

	// size of the key in bits: 2048, 3072 or 4096 for RSA; 256, 384 or 521
	// for ECDSA; 0 (or absent) means the algorithm's default (RSA 2048,
	// ECDSA 256).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=8192
	Size int32 `json:"size,omitempty"`
}

// Defaults of ClientCASource (see defaults.go).
const (
	// DefaultClientCAKey is spec.tls.clientCA.key's default (marker
	// default="ca.crt").
	DefaultClientCAKey = "ca.crt"
)

// ClientCASource is the CA bundle that client certificates must chain to.
type ClientCASource struct {
	// secretName is a Secret in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`

	// key in the Secret that holds the PEM bundle.
	// +optional
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// Defaults of ServerPorts (see defaults.go). spec.ports.implicit defaults to
// 0 (off), its zero value, so Go code reads the field itself.
const (
	// DefaultControlPort is spec.ports.control's default (marker default=21).
	DefaultControlPort int32 = 21
)

// ServerPorts are the control ports the Service exposes. Inside the pod
// ftpsd listens on unprivileged ports; the Service maps these onto them.
// +kubebuilder:validation:XValidation:rule="!has(self.implicit) || !has(self.control) || self.implicit == 0 || self.implicit != self.control",message="spec.ports.implicit must differ from spec.ports.control: use 990 for implicit FTPS, or 0 to turn it off",fieldPath=".implicit"
type ServerPorts struct {
	// control is the explicit FTPS port (plain TCP, then AUTH TLS).
	// +optional
	// +kubebuilder:default=21
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Control int32 `json:"control,omitempty"`

	// implicit is the implicit FTPS port (TLS from the first byte, usually
	// 990). 0 turns implicit FTPS off.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Implicit int32 `json:"implicit"`
}

// ServiceType is how the FTPS Services are exposed.
// +kubebuilder:validation:Enum=LoadBalancer;NodePort;ClusterIP
type ServiceType string

// The Service types an FTPSServer can use.
const (
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
)

// Defaults of ServiceSpec (see defaults.go).
const (
	// DefaultServiceType is spec.service.type's default (marker
	// default=LoadBalancer).
	DefaultServiceType = ServiceTypeLoadBalancer
	// DefaultExternalTrafficPolicy is spec.service.externalTrafficPolicy's
	// default (marker default=Local).
	DefaultExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
)

// ServiceSpec shapes the control Service and the passive Services.
type ServiceSpec struct {
	// type of every Service of this server.
	// +optional
	// +kubebuilder:default=LoadBalancer
	Type ServiceType `json:"type,omitempty"`

	// annotations added to every Service (load balancer settings).
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// loadBalancerClass selects a load balancer implementation. It cannot be
	// changed once set, as on a Service.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.service.loadBalancerClass cannot be changed; delete and recreate the FTPSServer to move it to another load balancer class"
	LoadBalancerClass *string `json:"loadBalancerClass,omitempty"`

	// externalTrafficPolicy of LoadBalancer and NodePort Services. Local (the
	// default) keeps the client's address, which ftpsd needs to check that a
	// data connection comes from the same client as its control connection.
	// +optional
	// +kubebuilder:default=Local
	// +kubebuilder:validation:Enum=Local;Cluster
	ExternalTrafficPolicy corev1.ServiceExternalTrafficPolicy `json:"externalTrafficPolicy,omitempty"`

	// loadBalancerSourceRanges limits which client CIDRs may connect.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="spec.service.loadBalancerSourceRanges must hold CIDRs such as 203.0.113.0/24 or 2001:db8::/32"
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges,omitempty"`
}

// PassiveMode is how passive data ports reach the pod that answered PASV.
// +kubebuilder:validation:Enum=PerReplica;Shared
type PassiveMode string

// The passive modes.
const (
	// PassiveModePerReplica gives each replica its own port slice and Service.
	PassiveModePerReplica PassiveMode = "PerReplica"
	// PassiveModeShared uses one Service with ClientIP affinity; every pod
	// listens on the whole range.
	PassiveModeShared PassiveMode = "Shared"
)

// Defaults of PassiveSpec (see defaults.go).
const (
	// DefaultPassiveMode is spec.passive.mode's default (marker
	// default=PerReplica).
	DefaultPassiveMode = PassiveModePerReplica
	// DefaultPortRangeStart is spec.passive.portRangeStart's default (marker
	// default=30000).
	DefaultPortRangeStart int32 = 30000
	// DefaultPortsPerReplica is spec.passive.portsPerReplica's default
	// (marker default=16).
	DefaultPortsPerReplica int32 = 16
)

// PassiveSpec configures passive-mode data ports. The whole range is
// [portRangeStart, portRangeStart + replicas x portsPerReplica).
type PassiveSpec struct {
	// mode: PerReplica (replica i owns ports [start + i x n, start + (i+1) x n)
	// behind its own Service) or Shared (one Service with ClientIP affinity,
	// for environments that give out a single address).
	// +optional
	// +kubebuilder:default=PerReplica
	Mode PassiveMode `json:"mode,omitempty"`

	// portRangeStart is the first passive port. With NodePort it must lie in
	// 30000-32767.
	// +optional
	// +kubebuilder:default=30000
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	PortRangeStart int32 `json:"portRangeStart,omitempty"`

	// portsPerReplica is how many passive ports each replica gets, i.e. how
	// many data connections one replica can have waiting at once.
	// +optional
	// +kubebuilder:default=16
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	PortsPerReplica int32 `json:"portsPerReplica,omitempty"`

	// address overrides the address advertised in PASV replies, for every
	// replica: an IP address or a host name. Empty means the address read
	// from each passive Service's status.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="isIP(self) || self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.passive.address must be an IP address or a DNS host name"
	Address string `json:"address,omitempty"`
}

// ReclaimPolicy says what happens to the data volumes when the server goes.
// +kubebuilder:validation:Enum=Retain;Delete
type ReclaimPolicy string

// The reclaim policies.
const (
	ReclaimRetain ReclaimPolicy = "Retain"
	ReclaimDelete ReclaimPolicy = "Delete"
)

// Defaults of StorageSpec (see defaults.go).
const (
	// DefaultStorageSize is spec.storage.size's default (marker
	// default="10Gi").
	DefaultStorageSize = "10Gi"
	// DefaultAccessMode is spec.storage.accessModes' only default item
	// (marker default={ReadWriteOnce}).
	DefaultAccessMode = corev1.ReadWriteOnce
	// DefaultReclaimPolicy is spec.storage.reclaimPolicy's default (marker
	// default=Retain).
	DefaultReclaimPolicy = ReclaimRetain
)

// StorageSpec is where the users' files live.
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="spec.storage.storageClassName cannot be changed: the volumes already hold data; create a new FTPSServer and copy the files",fieldPath=".storageClassName"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.accessModes) || (has(self.accessModes) && self.accessModes == oldSelf.accessModes)",message="spec.storage.accessModes cannot be changed once the volumes exist",fieldPath=".accessModes"
// +kubebuilder:validation:XValidation:rule="has(self.existingClaim) == has(oldSelf.existingClaim) && (!has(self.existingClaim) || self.existingClaim == oldSelf.existingClaim)",message="spec.storage.existingClaim cannot be changed: the files would move to another volume; create a new FTPSServer instead",fieldPath=".existingClaim"
// +kubebuilder:validation:XValidation:rule="!has(self.size) || !has(oldSelf.size) || quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",message="spec.storage.size may grow but not shrink",fieldPath=".size"
type StorageSpec struct {
	// size of each replica's data volume.
	// +optional
	// +kubebuilder:default="10Gi"
	Size resource.Quantity `json:"size,omitzero"`

	// storageClassName of the data volumes; empty means the cluster default.
	// Cannot be changed.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	StorageClassName *string `json:"storageClassName,omitempty"`

	// accessModes of the data volumes. Cannot be changed.
	// +optional
	// +listType=set
	// +kubebuilder:default={ReadWriteOnce}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:Enum=ReadWriteOnce;ReadOnlyMany;ReadWriteMany;ReadWriteOncePod
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`

	// existingClaim mounts a PersistentVolumeClaim you made instead of one
	// volume per replica. Cannot be changed.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ExistingClaim string `json:"existingClaim,omitempty"`

	// reclaimPolicy: Retain (the default) keeps the volumes when the
	// FTPSServer is deleted; Delete removes them with it.
	// +optional
	// +kubebuilder:default=Retain
	ReclaimPolicy ReclaimPolicy `json:"reclaimPolicy,omitempty"`
}

// Defaults of Limits (see defaults.go): ftpsd's own defaults for a
// hand-written ftpsd.yaml, so that the two cannot differ; the markers on
// Limits state the same values and TestDefaultAccessorsMatchSchema checks
// them against the API server.
const (
	DefaultMaxSessions      = int32(config.DefaultMaxSessions)      // marker default=1000
	DefaultMaxSessionsPerIP = int32(config.DefaultMaxSessionsPerIP) // marker default=50
	DefaultIdleTimeout      = config.DefaultIdleTimeout             // marker default="5m"
	DefaultLoginTimeout     = config.DefaultLoginTimeout            // marker default="30s"
	DefaultMaxLoginFailures = int32(config.DefaultMaxLoginFailures) // marker default=5
	DefaultBanDuration      = config.DefaultBanDuration             // marker default="15m"
)

// Limits protect the server from overload and password guessing.
type Limits struct {
	// maxSessions is the most control connections one replica serves at once.
	// +optional
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxSessions int32 `json:"maxSessions,omitempty"`

	// maxSessionsPerIP is the most control connections from one client address.
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MaxSessionsPerIP int32 `json:"maxSessionsPerIP,omitempty"`

	// idleTimeout closes a session that sends no command for this long
	// (421), transfers excepted.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s')",message="spec.limits.idleTimeout must be at least 10s"
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`

	// loginTimeout closes a session that has not logged in this long after
	// connecting.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="spec.limits.loginTimeout must be at least 1s"
	LoginTimeout *metav1.Duration `json:"loginTimeout,omitempty"`

	// maxLoginFailures from one client address before it is banned.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxLoginFailures int32 `json:"maxLoginFailures,omitempty"`

	// banDuration is how long a banned address is refused (421 at connect).
	// +optional
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	BanDuration *metav1.Duration `json:"banDuration,omitempty"`
}

// ProxyProtocol accepts PROXY protocol headers from trusted load balancers.
// +kubebuilder:validation:XValidation:rule="!has(self.enabled) || !self.enabled || (has(self.trustedCIDRs) && size(self.trustedCIDRs) > 0)",message="spec.proxyProtocol.trustedCIDRs must list the load balancers' addresses when enabled is true; PROXY headers from any other address are refused",fieldPath=".trustedCIDRs"
type ProxyProtocol struct {
	// enabled turns on PROXY protocol v1/v2 on the control and data ports.
	// +optional
	// +kubebuilder:default=false
	Enabled bool `json:"enabled"`

	// trustedCIDRs are the addresses allowed to send PROXY headers.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="spec.proxyProtocol.trustedCIDRs must hold CIDRs such as 10.0.0.0/8"
	TrustedCIDRs []string `json:"trustedCIDRs,omitempty"`
}

// PodSpec customises the ftpsd pods.
type PodSpec struct {
	// resources of the ftpsd container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitzero"`

	// nodeSelector constrains the nodes the pods run on.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the pods.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity of the pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// topologySpreadConstraints of the pods.
	// +optional
	// +listType=atomic
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// annotations added to the pods.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// labels added to the pods.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// priorityClassName of the pods.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	PriorityClassName string `json:"priorityClassName,omitempty"`
}

// FTPSServerStatus is what the operator observed and did.
type FTPSServerStatus struct {
	// observedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, CertificateReady, ServicesReady, Available,
	// Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// endpoint is the address clients connect to (host:port of the control
	// Service).
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// replicas is the number of ftpsd pods.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of ftpsd pods ready to serve.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// certificate describes the certificate the pods serve.
	// +optional
	Certificate *CertificateStatus `json:"certificate,omitempty"`

	// passive lists each replica's advertised passive address and ports.
	// +optional
	// +listType=map
	// +listMapKey=replica
	Passive []PassiveStatus `json:"passive,omitempty"`
}

// CertificateStatus describes the certificate the pods serve.
type CertificateStatus struct {
	// secretName holds tls.crt and tls.key.
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// notAfter is when the certificate expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// renewalTime is when it will be renewed.
	// +optional
	RenewalTime *metav1.Time `json:"renewalTime,omitempty"`
	// serialNumber of the certificate, in hex.
	// +optional
	SerialNumber string `json:"serialNumber,omitempty"`
}

// PassiveStatus is one replica's passive address and ports.
type PassiveStatus struct {
	// replica is the ordinal of the pod.
	// +required
	Replica int32 `json:"replica"`
	// address advertised in PASV replies; empty until known.
	// +optional
	Address string `json:"address,omitempty"`
	// portRange is "first-last".
	// +optional
	PortRange string `json:"portRange,omitempty"`
}

// FTPSServer is an FTPS endpoint: ftpsd pods behind a control Service and
// passive Services, with a certificate cert-manager (or the operator) renews.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ftpss,categories=ftps
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready Replicas",type=integer,JSONPath=`.status.readyReplicas`,priority=1
// +kubebuilder:printcolumn:name="Cert Expires",type=date,JSONPath=`.status.certificate.notAfter`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FTPSServer struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitzero"`

	// spec is the desired server.
	// +required
	Spec FTPSServerSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status FTPSServerStatus `json:"status,omitzero"`
}

// FTPSServerList is a list of FTPSServers.
// +kubebuilder:object:root=true
type FTPSServerList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitzero"`
	Items           []FTPSServer `json:"items"`
}
