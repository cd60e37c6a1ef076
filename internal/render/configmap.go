package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// PolicyConfig is a deep copy of an FTPSPolicy spec (the same type as
// ftpsd's policy) with the secure defaults applied, so that the rendered file states every rule it
// enforces. A nil spec (no policyRef) gives the defaults alone.
func PolicyConfig(spec *v1alpha1.FTPSPolicySpec) config.Policy {
	var p config.Policy
	if spec != nil {
		spec.DeepCopyInto(&p)
	}
	p.ApplyDefaults()
	return p
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
		c.TLS.ClientCAFile = ClientCADir + "/" + ca.KeyOrDefault()
	}
	first, last := WholePortRange(srv)
	c.Passive.PortRange = FormatRange(first, last)
	if !Shared(srv) {
		c.Passive.PerReplica = &config.PerReplica{PortsPerReplica: int(srv.Spec.Passive.PortsPerReplicaOrDefault())}
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
		MaxSessions:      int(l.MaxSessionsOrDefault()),
		MaxSessionsPerIP: int(l.MaxSessionsPerIPOrDefault()),
		IdleTimeout:      config.Duration{Duration: l.IdleTimeoutOrDefault()},
		LoginTimeout:     config.Duration{Duration: l.LoginTimeoutOrDefault()},
		DataTimeout:      config.Duration{Duration: config.DefaultDataTimeout},
		MaxLoginFailures: int(l.MaxLoginFailuresOrDefault()),
		BanDuration:      config.Duration{Duration: l.BanDurationOrDefault()},
	}
	if srv.Spec.ProxyProtocol.Enabled {
		c.ProxyProtocol = config.ProxyProtocol{
			Enabled:      true,
			TrustedCIDRs: slices.Clone(srv.Spec.ProxyProtocol.TrustedCIDRs),
		}
	}
	return c
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

// RestartHash is the hash of what ftpsd reads only when it starts, as ftpsd
// itself classifies its fields (config.RestartKey), and of the one file it
// reads only then: the client CA bundle (clientCA, nil without one). So a new
// client CA rolls the pods instead of going unnoticed until they restart.
// Everything else (policy, limits, passive addresses and ranges, and the
// certificate and users files' contents) ftpsd reloads in place, so a change
// of it keeps the pods. A change of the hash rolls the pods.
func RestartHash(c *config.Config, clientCA []byte) string {
	key := config.RestartKey(c)
	if clientCA != nil {
		sum := sha256.Sum256(clientCA)
		key = append(key, sum[:]...)
	}
	return shortHash(key)
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
