package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// PolicyConfig converts an FTPSPolicy spec into ftpsd's policy, with the
// secure defaults applied, so that the rendered file states every rule it
// enforces. A nil spec (no policyRef) gives the defaults alone.
func PolicyConfig(spec *v1alpha1.FTPSPolicySpec) config.Policy {
	var p config.Policy
	if spec != nil {
		p.Control.RequireTLS = config.RequireTLS(spec.Control.RequireTLS)
		p.Control.ClearLoginUsers = slices.Clone(spec.Control.ClearLoginUsers)
		p.Control.CCC = config.CCCMode(spec.Control.CCC)
		p.TLS.MinVersion = string(spec.TLS.MinVersion)
		for _, s := range spec.TLS.CipherSuites {
			p.TLS.CipherSuites = append(p.TLS.CipherSuites, string(s))
		}
		p.Data.Protection = config.Protection(spec.Data.Protection)
		p.Data.SessionReuse = config.SessionReuse(spec.Data.SessionReuse)
		if spec.Data.RequireSameAddress != nil {
			p.Data.RequireSameAddress = new(*spec.Data.RequireSameAddress)
		}
		if spec.Data.RequireSameClientCertificate != nil {
			p.Data.RequireSameClientCertificate = new(*spec.Data.RequireSameClientCertificate)
		}
		p.Data.ActiveMode = config.ActiveMode(spec.Data.ActiveMode)
		p.Authentication.ClientCertificate = config.ClientCertificateMode(spec.Authentication.ClientCertificate)
		p.Authentication.Anonymous.Enabled = spec.Authentication.Anonymous.Enabled
		p.Authentication.Anonymous.Connection = config.AnonymousConnection(spec.Authentication.Anonymous.Connection)
	}
	p.ApplyDefaults()
	return p
}

func duration(d *metav1.Duration, def time.Duration) config.Duration {
	if d == nil || d.Duration == 0 {
		return config.Duration{Duration: def}
	}
	return config.Duration{Duration: d.Duration}
}

func orDefault(v int32, def int) int {
	if v == 0 {
		return def
	}
	return int(v)
}

// FTPSDConfig is the ftpsd.yaml of srv. policy is the referenced FTPSPolicy's
// spec (nil: secure defaults). addresses maps replica ordinals to the address
// read from their passive Service (an IP address, or a load balancer's host
// name, which ftpsd resolves when a PASV reply needs an address), and
// spec.passive.address overrides them all.
func FTPSDConfig(srv *v1alpha1.FTPSServer, policy *v1alpha1.FTPSPolicySpec, addresses map[int32]string) *config.Config {
	c := &config.Config{
		Listen:        fmt.Sprintf(":%d", PodControlPort),
		Root:          DataDir,
		UsersFile:     UsersPath,
		MetricsListen: fmt.Sprintf(":%d", PodMetricsPort),
		TLS: config.TLSFiles{
			CertFile: TLSCertFile,
			KeyFile:  TLSKeyFile,
		},
		Policy: PolicyConfig(policy),
		// The folder anonymous users may read when the policy lets them in;
		// the API has no field for it, so it is ftpsd's default, stated.
		Anonymous: config.Anonymous{Home: config.DefaultAnonymousHome},
	}
	if srv.Spec.Ports.Implicit != 0 {
		c.ImplicitListen = fmt.Sprintf(":%d", PodImplicitPort)
	}
	if ca := srv.Spec.TLS.ClientCA; ca != nil {
		c.TLS.ClientCAFile = ClientCADir + "/" + clientCAKey(ca)
	}
	first, last := WholePortRange(srv)
	c.Passive.PortRange = FormatRange(first, last)
	if !Shared(srv) {
		c.Passive.PerReplica = &config.PerReplica{PortsPerReplica: int(portsPerReplica(srv))}
	}
	if a := srv.Spec.Passive.Address; a != "" {
		c.Passive.Address = a
	} else {
		for ord, addr := range addresses {
			if ord < 0 || ord >= max(Replicas(srv), 1) || addr == "" {
				continue
			}
			if c.Passive.Addresses == nil {
				c.Passive.Addresses = map[string]string{}
			}
			c.Passive.Addresses[strconv.Itoa(int(ord))] = addr
		}
	}
	l := srv.Spec.Limits
	c.Limits = config.Limits{
		MaxSessions:      orDefault(l.MaxSessions, config.DefaultMaxSessions),
		MaxSessionsPerIP: orDefault(l.MaxSessionsPerIP, config.DefaultMaxSessionsPerIP),
		IdleTimeout:      duration(l.IdleTimeout, config.DefaultIdleTimeout),
		LoginTimeout:     duration(l.LoginTimeout, config.DefaultLoginTimeout),
		DataTimeout:      config.Duration{Duration: config.DefaultDataTimeout},
		MaxLoginFailures: orDefault(l.MaxLoginFailures, config.DefaultMaxLoginFailures),
		BanDuration:      duration(l.BanDuration, config.DefaultBanDuration),
	}
	if srv.Spec.ProxyProtocol.Enabled {
		c.ProxyProtocol = config.ProxyProtocol{
			Enabled:      true,
			TrustedCIDRs: slices.Clone(srv.Spec.ProxyProtocol.TrustedCIDRs),
		}
	}
	return c
}

func clientCAKey(ca *v1alpha1.ClientCASource) string {
	if ca.Key == "" {
		return "ca.crt"
	}
	return ca.Key
}

// MarshalConfig writes c as YAML. The output is deterministic: sigs.k8s.io/yaml
// goes through JSON, whose map keys are sorted.
func MarshalConfig(c *config.Config) ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("rendering ftpsd.yaml: %w", err)
	}
	return b, nil
}

// RestartHash is the hash of what ftpsd reads only when it starts: the
// configuration without the policy and the advertised passive addresses,
// which it reloads from the mounted file. Certificates and users are
// reloaded too, so they are not part of it either. A change of the hash
// rolls the pods.
func RestartHash(c *config.Config) string {
	cp := *c
	cp.Policy = config.Policy{}
	cp.Passive.Address = ""
	cp.Passive.Addresses = nil
	b, err := yaml.Marshal(&cp)
	if err != nil {
		// A Config always marshals; keep the hash defined regardless.
		b = []byte(err.Error())
	}
	return shortHash(b)
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

// ConfigMap is the ConfigMap <name>-config holding ftpsd.yaml.
func ConfigMap(srv *v1alpha1.FTPSServer, c *config.Config) (*corev1.ConfigMap, error) {
	b, err := MarshalConfig(c)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(srv),
			Namespace: srv.Namespace,
			Labels:    Labels(srv, ComponentServer),
		},
		Data: map[string]string{ConfigKey: string(b)},
	}, nil
}
