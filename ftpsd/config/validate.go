package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validate reports the first problem of a defaulted configuration, naming the
// field and what to write instead.
func (c *Config) Validate() error {
	if err := validListen("listen", c.Listen, false); err != nil {
		return err
	}
	if err := validListen("implicitListen", c.ImplicitListen, true); err != nil {
		return err
	}
	if err := validListen("metricsListen", c.MetricsListen, true); err != nil {
		return err
	}
	if c.Root == "" {
		return errors.New("root: must name the storage folder")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: certFile and keyFile go together; set both or neither")
	}
	if c.Policy.Authentication.ClientCertificate != "" && c.Policy.Authentication.ClientCertificate != ClientCertificateNone && c.TLS.ClientCAFile == "" {
		// Without it, client certificates would be checked against the
		// system's public CAs: anyone could get one with a chosen CommonName.
		return fmt.Errorf("tls.clientCAFile: required when policy.authentication.clientCertificate is %s", c.Policy.Authentication.ClientCertificate)
	}
	if err := c.Passive.validate(); err != nil {
		return err
	}
	l := c.Limits
	for name, v := range map[string]int{"limits.maxSessions": l.MaxSessions, "limits.maxSessionsPerIP": l.MaxSessionsPerIP, "limits.maxLoginFailures": l.MaxLoginFailures} {
		if v < 0 {
			return fmt.Errorf("%s: %d is negative", name, v)
		}
	}
	for name, v := range map[string]Duration{"limits.idleTimeout": l.IdleTimeout, "limits.loginTimeout": l.LoginTimeout, "limits.dataTimeout": l.DataTimeout, "limits.banDuration": l.BanDuration} {
		if v.Duration < 0 {
			return fmt.Errorf("%s: %s is negative", name, v.Duration)
		}
	}
	for _, cidr := range c.ProxyProtocol.TrustedCIDRs {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			return fmt.Errorf("proxyProtocol.trustedCIDRs: %q is not a CIDR such as 10.0.0.0/8: %v", cidr, err)
		}
	}
	if c.ProxyProtocol.Enabled && len(c.ProxyProtocol.TrustedCIDRs) == 0 {
		return errors.New("proxyProtocol.trustedCIDRs: must list the load balancers' networks when proxyProtocol.enabled is true")
	}
	if err := validRelative(c.Anonymous.Home); c.Anonymous.Home != "" && err != nil {
		return fmt.Errorf("anonymous.home: %w", err)
	}
	return c.Policy.Validate()
}

// userName is the pattern of policy.control.clearLoginUsers items (the CRD's
// items:Pattern marker on ControlPolicy.ClearLoginUsers).
var userName = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

func oneOf[T ~string](field string, v T, allowed ...T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s: %q is not one of %v", field, v, allowed)
}

// set checks a list with +listType=set and MaxItems: at most max items, each
// valid, none twice.
func set[T ~string](field string, items []T, maxItems int, valid func(T) error) error {
	if len(items) > maxItems {
		return fmt.Errorf("%s: %d items, at most %d", field, len(items), maxItems)
	}
	seen := make(map[T]bool, len(items))
	for i, v := range items {
		if err := valid(v); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		if seen[v] {
			return fmt.Errorf("%s[%d]: %q is listed twice", field, i, v)
		}
		seen[v] = true
	}
	return nil
}

// Validate reports the first invalid field of a defaulted policy. It refuses
// exactly what the FTPSPolicy CRD's schema refuses (enums, list bounds and
// patterns, and the XValidation rules on Policy, ControlPolicy and
// TLSPolicy), so that an ftpsd.yaml written by hand is held to the same
// contract as an FTPSPolicy; api/v1alpha1's TestPolicyAgreement checks that
// the two agree.
func (p *Policy) Validate() error {
	checks := []error{
		oneOf("policy.control.requireTLS", p.Control.RequireTLS, RequireTLSAllCommands, RequireTLSLogin, RequireTLSOptional),
		oneOf("policy.control.ccc", p.Control.CCC, CCCDeny, CCCAllowAfterLogin),
		oneOf("policy.tls.minVersion", p.TLS.MinVersion, TLSVersion12, TLSVersion13),
		oneOf("policy.data.protection", p.Data.Protection, ProtectionPrivate, ProtectionPrivateExceptListings, ProtectionClientChoice, ProtectionClear),
		oneOf("policy.data.sessionReuse", p.Data.SessionReuse, SessionReuseRequired, SessionReuseOptional),
		oneOf("policy.data.activeMode", p.Data.ActiveMode, ActiveModeDisabled, ActiveModeClientAddressOnly),
		oneOf("policy.authentication.clientCertificate", p.Authentication.ClientCertificate, ClientCertificateNone, ClientCertificateOptional, ClientCertificateRequired, ClientCertificateSufficient),
		oneOf("policy.authentication.anonymous.connection", p.Authentication.Anonymous.Connection, AnonymousAny, AnonymousClearOnly, AnonymousTLSOnly),
		set("policy.control.clearLoginUsers", p.Control.ClearLoginUsers, 256, func(u string) error {
			if len(u) > 64 || !userName.MatchString(u) {
				return fmt.Errorf("%q is not a user name (at most 64 of a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit)", u)
			}
			return nil
		}),
		set("policy.tls.cipherSuites", p.TLS.CipherSuites, len(cipherSuites), func(s CipherSuite) error {
			if _, ok := cipherSuites[s]; !ok {
				return fmt.Errorf("%q is not one of the TLS 1.2 ECDHE AEAD cipher suites ftpsd offers (IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", s)
			}
			return nil
		}),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	// The XValidation rules, with the CRD's messages (in ftpsd.yaml terms).
	if len(p.Control.ClearLoginUsers) > 0 && p.Control.RequireTLS != RequireTLSLogin {
		return errors.New("policy.control.clearLoginUsers: only applies with requireTLS: Login (with AllCommands nobody logs in without TLS, with Optional everybody may)")
	}
	if p.TLS.MinVersion != TLSVersion12 && len(p.TLS.CipherSuites) > 0 {
		return errors.New("policy.tls.cipherSuites: applies to TLS 1.2 only; with minVersion 1.3 remove cipherSuites")
	}
	if a := p.Authentication.Anonymous; a.Enabled {
		if a.Connection == AnonymousClearOnly && p.Control.RequireTLS != RequireTLSOptional {
			return errors.New("policy.authentication.anonymous.connection: ClearOnly needs policy.control.requireTLS Optional: anonymous users could never log in otherwise")
		}
		if a.Connection != AnonymousTLSOnly && p.Data.Protection == ProtectionPrivate {
			return errors.New("policy.authentication.anonymous.connection: anonymous access over a clear control connection needs clear data connections: set policy.data.protection to ClientChoice or PrivateExceptListings, or anonymous.connection to TLSOnly")
		}
	}
	return nil
}

// validRelative accepts a folder relative to the root, without ".." elements.
func validRelative(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
		return fmt.Errorf("%q must be a relative folder such as \"anonymous\"", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%q must not contain \"..\"", p)
		}
	}
	return nil
}

func validListen(field, addr string, optional bool) error {
	if addr == "" {
		if optional {
			return nil
		}
		return fmt.Errorf("%s: must be host:port, e.g. \":2121\"", field)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %v", field, addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s: port %q is not a number in [0, 65535]", field, port)
	}
	return nil
}

// ParsePortRange parses "first-last" (inclusive).
func ParsePortRange(s string) (first, last int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not first-last, e.g. \"30000-30015\"", s)
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not first-last with numbers", s)
	}
	if first < 1024 || last > 65535 || first > last {
		return 0, 0, fmt.Errorf("%q must satisfy 1024 <= first <= last <= 65535", s)
	}
	return first, last, nil
}

func (p *Passive) validate() error {
	if p.PortRange == "" {
		if p.PerReplica != nil {
			return errors.New("passive.perReplica: needs passive.portRange")
		}
	} else {
		first, last, err := ParsePortRange(p.PortRange)
		if err != nil {
			return fmt.Errorf("passive.portRange: %w", err)
		}
		if p.PerReplica != nil {
			n := p.PerReplica.PortsPerReplica
			if n < 1 || n > last-first+1 {
				return fmt.Errorf("passive.perReplica.portsPerReplica: %d must be in [1, %d] (the size of passive.portRange)", n, last-first+1)
			}
		}
	}
	if p.Address != "" {
		if err := validHost(p.Address); err != nil {
			return fmt.Errorf("passive.address: %w", err)
		}
	}
	for k, v := range p.Addresses {
		if n, err := strconv.Atoi(k); err != nil || n < 0 {
			return fmt.Errorf("passive.addresses: key %q is not a replica ordinal (0, 1, ...)", k)
		}
		if err := validHost(v); err != nil {
			return fmt.Errorf("passive.addresses[%s]: %w", k, err)
		}
	}
	return nil
}

// validHost accepts an IP address or a DNS name (a load balancer's hostname,
// resolved to an IPv4 address when a PASV reply needs one).
func validHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if len(h) > 253 || h == "" {
		return fmt.Errorf("%q is neither an IP address nor a DNS name", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is neither an IP address nor a DNS name", h)
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return fmt.Errorf("%q is neither an IP address nor a DNS name", h)
			}
		}
	}
	return nil
}

// PortsFor returns the passive ports replica ordinal owns: the whole range,
// or its per-replica slice. (0, 0) means "any ephemeral port".
func (p *Passive) PortsFor(ordinal int) (first, last int, err error) {
	if p.PortRange == "" {
		return 0, 0, nil
	}
	first, last, err = ParsePortRange(p.PortRange)
	if err != nil {
		return 0, 0, err
	}
	if p.PerReplica == nil {
		return first, last, nil
	}
	if ordinal < 0 {
		return 0, 0, errors.New("passive.perReplica needs the replica ordinal (POD_NAME ending in -<n>)")
	}
	n := p.PerReplica.PortsPerReplica
	lo := first + ordinal*n
	hi := lo + n - 1
	if hi > last {
		return 0, 0, fmt.Errorf("replica %d needs ports %d-%d, beyond passive.portRange %s", ordinal, lo, hi, p.PortRange)
	}
	return lo, hi, nil
}

// AddressFor returns the advertised passive address of replica ordinal, or ""
// for "the control connection's local address".
func (p *Passive) AddressFor(ordinal int) string {
	if a, ok := p.Addresses[strconv.Itoa(ordinal)]; ok && ordinal >= 0 {
		return a
	}
	return p.Address
}

// OrdinalFromPodName returns n for a StatefulSet pod name "<name>-<n>".
func OrdinalFromPodName(pod string) (int, bool) {
	i := strings.LastIndexByte(pod, '-')
	if i < 0 || i == len(pod)-1 {
		return -1, false
	}
	n, err := strconv.Atoi(pod[i+1:])
	if err != nil || n < 0 {
		return -1, false
	}
	return n, true
}
