// Package config holds the types of ftpsd.yaml, the file the operator renders
// into each pod and that people may also write by hand, with its defaults and
// its validation. Parse is strict: an unknown field is an error, so that a typo
// never silently weakens a policy.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Config is the whole ftpsd.yaml.
type Config struct {
	// Listen is the explicit FTPS control listener (AUTH TLS), host:port.
	Listen string `json:"listen,omitempty" reload:"restart"`
	// ImplicitListen is the implicit FTPS listener (TLS from the first byte); off when empty.
	ImplicitListen string `json:"implicitListen,omitempty" reload:"restart"`
	// Root is the storage root; each user's home is a folder under it.
	Root string `json:"root,omitempty" reload:"restart"`
	// UsersFile is the users.yaml path.
	UsersFile string   `json:"usersFile,omitempty" reload:"restart"`
	TLS       TLSFiles `json:"tls,omitempty"`
	Passive   Passive  `json:"passive,omitempty"`
	// Policy is taken whole by each new session, so every field of it is
	// live.
	Policy        Policy        `json:"policy,omitempty" reload:"live"`
	Limits        Limits        `json:"limits,omitempty"`
	ProxyProtocol ProxyProtocol `json:"proxyProtocol,omitempty"`
	// Anonymous holds what policy.authentication.anonymous needs besides the
	// policy itself (which is an FTPSPolicy spec, verbatim).
	Anonymous Anonymous `json:"anonymous,omitempty"`
	// MetricsListen serves /metrics, /healthz and /readyz; off when empty.
	MetricsListen string `json:"metricsListen,omitempty" reload:"restart"`
	// SyncUploads (default true) flushes each upload to stable storage
	// (fsync) before it is renamed into place and 226 is sent, so that a 226
	// means the file survives a power loss. False leaves that to the
	// kernel's normal writeback: faster for large uploads on slow disks,
	// but a crash of the machine (not of ftpsd) may
	// lose uploads that were acknowledged. An upload that fails or is
	// aborted never appears under its name, either way.
	SyncUploads *bool `json:"syncUploads,omitempty" reload:"live"`
	// CredentialCache (default true) keeps, for each login that succeeded,
	// an HMAC of its credentials under a per-process random key, so that the
	// same user and password log in again without another password-hash
	// verification. False verifies the hash on every login and keeps nothing
	// derived from passwords in memory.
	CredentialCache *bool `json:"credentialCache,omitempty" reload:"live"`
}

// SyncUploadsEnabled reports SyncUploads, true when unset.
func (c *Config) SyncUploadsEnabled() bool { return c.SyncUploads == nil || *c.SyncUploads }

// CredentialCacheEnabled reports CredentialCache, true when unset.
func (c *Config) CredentialCacheEnabled() bool { return c.CredentialCache == nil || *c.CredentialCache }

// TLSFiles names the PEM files of the server certificate and of the CA that
// signs client certificates.
type TLSFiles struct {
	// The paths are watched from the start; the files' contents reload.
	CertFile string `json:"certFile,omitempty" reload:"restart"`
	KeyFile  string `json:"keyFile,omitempty" reload:"restart"`
	// ClientCAFile is read once, at start.
	ClientCAFile string `json:"clientCAFile,omitempty" reload:"restart"`
}

// Passive describes the passive (PASV/EPSV) data ports and the address
// advertised in the 227 reply.
type Passive struct {
	// PortRange is "first-last", inclusive. Empty means any ephemeral port
	// chosen by the kernel (fine on a laptop, not behind a load balancer).
	PortRange string `json:"portRange,omitempty" reload:"live"`
	// PerReplica, when set, gives replica i the slice
	// [first + i*n, first + (i+1)*n) of PortRange.
	PerReplica *PerReplica `json:"perReplica,omitempty" reload:"live"`
	// Address is the advertised address (an IP address, or a DNS name that
	// resolves to an IPv4 address); empty means the local address of the
	// control connection.
	Address string `json:"address,omitempty" reload:"live"`
	// Addresses overrides Address per replica ordinal ("0", "1", ...).
	Addresses map[string]string `json:"addresses,omitempty" reload:"live"`
}

// PerReplica splits the passive range between the replicas of a StatefulSet.
type PerReplica struct {
	PortsPerReplica int `json:"portsPerReplica"`
}

// Limits bound what one client may consume.
type Limits struct {
	MaxSessions      int      `json:"maxSessions,omitempty" reload:"live"`
	MaxSessionsPerIP int      `json:"maxSessionsPerIP,omitempty" reload:"live"`
	IdleTimeout      Duration `json:"idleTimeout,omitempty" reload:"live"`
	LoginTimeout     Duration `json:"loginTimeout,omitempty" reload:"live"`
	// DataTimeout bounds the wait for a data connection and each data read/write.
	DataTimeout      Duration `json:"dataTimeout,omitempty" reload:"live"`
	MaxLoginFailures int      `json:"maxLoginFailures,omitempty" reload:"live"`
	BanDuration      Duration `json:"banDuration,omitempty" reload:"live"`
}

// ProxyProtocol accepts a PROXY protocol header from trusted load balancers.
type ProxyProtocol struct {
	// Both are read for each accepted connection.
	Enabled      bool     `json:"enabled,omitempty" reload:"live"`
	TrustedCIDRs []string `json:"trustedCIDRs,omitempty" reload:"live"`
}

// Anonymous configures anonymous logins, when the policy enables them.
type Anonymous struct {
	// Home is the anonymous users' folder, relative to Root (default
	// "anonymous"). Anonymous users may only list and read it.
	Home string `json:"home,omitempty" reload:"live"`
}

// Duration is a time.Duration written as a Go duration string ("5m").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"5m\" or \"30s\": %w", err)
	}
	if s == "" {
		d.Duration = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Defaults of the fields that have one.
const (
	DefaultListen           = ":2121"
	DefaultRoot             = "/data"
	DefaultUsersFile        = "/etc/ftpsd/users/users.yaml"
	DefaultMetricsListen    = ":9090"
	DefaultMaxSessions      = 1000
	DefaultMaxSessionsPerIP = 50
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultLoginTimeout     = 30 * time.Second
	DefaultDataTimeout      = 60 * time.Second
	DefaultMaxLoginFailures = 5
	DefaultBanDuration      = 15 * time.Minute
	DefaultAnonymousHome    = "anonymous"
)

// Parse reads ftpsd.yaml strictly, applies the defaults and validates.
func Parse(data []byte) (*Config, error) {
	// Read YAML the way the API server reads a manifest: JSON types kept (a
	// number is not a string), field names case-sensitive, unknown and
	// duplicate fields refused. So a policy is refused here exactly when
	// the FTPSPolicy schema refuses it.
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("ftpsd config: %w", err)
	}
	c := &Config{}
	strictErrs, err := kjson.UnmarshalStrict(j, c, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("ftpsd config: %w", err)
	}
	if len(strictErrs) > 0 {
		return nil, fmt.Errorf("ftpsd config: %w (field names are case-sensitive)", errors.Join(strictErrs...))
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ftpsd config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Default returns a configuration with every default applied.
func Default() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills every unset field with its default. Secure by default:
// the zero policy is the strictest sensible one.
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if c.UsersFile == "" {
		c.UsersFile = DefaultUsersFile
	}
	if c.MetricsListen == "" {
		c.MetricsListen = DefaultMetricsListen
	}
	l := &c.Limits
	if l.MaxSessions == 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	if l.MaxSessionsPerIP == 0 {
		l.MaxSessionsPerIP = DefaultMaxSessionsPerIP
	}
	if l.IdleTimeout.Duration == 0 {
		l.IdleTimeout.Duration = DefaultIdleTimeout
	}
	if l.LoginTimeout.Duration == 0 {
		l.LoginTimeout.Duration = DefaultLoginTimeout
	}
	if l.DataTimeout.Duration == 0 {
		l.DataTimeout.Duration = DefaultDataTimeout
	}
	if l.MaxLoginFailures == 0 {
		l.MaxLoginFailures = DefaultMaxLoginFailures
	}
	if l.BanDuration.Duration == 0 {
		l.BanDuration.Duration = DefaultBanDuration
	}
	if c.Anonymous.Home == "" {
		c.Anonymous.Home = DefaultAnonymousHome
	}
	if c.SyncUploads == nil {
		c.SyncUploads = ptr(true)
	}
	if c.CredentialCache == nil {
		c.CredentialCache = ptr(true)
	}
	c.Policy.ApplyDefaults()
}
