package render

import (
	"time"

	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

func samplePolicy() *v1alpha1.FTPSPolicySpec {
	return &v1alpha1.FTPSPolicySpec{
		Control: config.ControlPolicy{RequireTLS: config.RequireTLSLogin, CCC: config.CCCDeny, ClearLoginUsers: []string{"legacy"}},
		TLS:     config.TLSPolicy{MinVersion: config.TLSVersion12, CipherSuites: []config.CipherSuite{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		Data: config.DataPolicy{
			Protection: config.ProtectionPrivateExceptListings, SessionReuse: config.SessionReuseRequired,
			RequireSameAddress: new(false), ActiveMode: config.ActiveModeClientAddressOnly,
		},
		Authentication: config.AuthenticationPolicy{ClientCertificate: config.ClientCertificateOptional},
	}
}

// TestConfigGolden renders the sample server with a policy and two known
// addresses, compares with testdata/ftpsd.yaml and parses the result with
// ftpsd's own loader.
func TestConfigGolden(t *testing.T) {
	srv := sampleServer()
	srv.Spec.TLS.ClientCA = &v1alpha1.ClientCASource{SecretName: "partners-ca", Key: "ca.crt"}
	srv.Spec.ProxyProtocol = v1alpha1.ProxyProtocol{Enabled: true, TrustedCIDRs: []string{"10.0.0.0/8"}}
	srv.Spec.Limits.IdleTimeout = &metav1.Duration{Duration: 120e9}
	c := FTPSDConfig(srv, samplePolicy(), map[int32]string{0: "203.0.113.10", 1: "203.0.113.11", 7: "203.0.113.99"})
	cm, err := ConfigMap(srv, c)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(cm.Data[ConfigKey])
	golden(t, "ftpsd.yaml", data)

	parsed, err := config.Parse(data)
	if err != nil {
		t.Fatalf("ftpsd cannot load the rendered file: %v", err)
	}
	for ord, want := range map[int]string{0: "30000-30015", 1: "30016-30031"} {
		first, last, err := parsed.Passive.PortsFor(ord)
		if err != nil || FormatRange(int32(first), int32(last)) != want {
			t.Errorf("replica %d: ftpsd computes %d-%d (%v), the operator %s", ord, first, last, err, want)
		}
	}
	if got := parsed.Passive.AddressFor(1); got != "203.0.113.11" {
		t.Errorf("AddressFor(1) = %q", got)
	}
	if _, ok := parsed.Passive.Addresses["7"]; ok {
		t.Error("an address of a replica beyond spec.replicas was written")
	}
	if parsed.ImplicitListen != ":2990" || parsed.Listen != ":2121" || parsed.MetricsListen != ":9090" {
		t.Errorf("listeners %q %q %q", parsed.Listen, parsed.ImplicitListen, parsed.MetricsListen)
	}
	if parsed.TLS.ClientCAFile != "/etc/ftpsd/client-ca/ca.crt" {
		t.Errorf("clientCAFile %q", parsed.TLS.ClientCAFile)
	}
}

func TestConfigTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*v1alpha1.FTPSServer)
		addrs map[int32]string
		check func(*testing.T, *config.Config)
	}{
		{
			name: "no policy gives the secure defaults",
			check: func(t *testing.T, c *config.Config) {
				p := c.Policy
				if p.Control.RequireTLS != config.RequireTLSLogin || p.Data.Protection != config.ProtectionPrivate ||
					p.Data.SessionReuse != config.SessionReuseRequired || p.Control.CCC != config.CCCDeny ||
					p.Data.ActiveMode != config.ActiveModeDisabled || !*p.Data.RequireSameAddress {
					t.Errorf("policy %+v", p)
				}
			},
		},
		{
			name: "implicit off",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.Ports.Implicit = 0 },
			check: func(t *testing.T, c *config.Config) {
				if c.ImplicitListen != "" {
					t.Errorf("implicitListen %q", c.ImplicitListen)
				}
			},
		},
		{
			name: "shared mode listens on the whole range",
			edit: func(s *v1alpha1.FTPSServer) {
				s.Spec.Passive.Mode = v1alpha1.PassiveModeShared
				s.Spec.Replicas = new(int32(3))
			},
			check: func(t *testing.T, c *config.Config) {
				if c.Passive.PerReplica != nil || c.Passive.PortRange != "30000-30047" {
					t.Errorf("passive %+v", c.Passive)
				}
			},
		},
		{
			name:  "address override wins over observed addresses",
			edit:  func(s *v1alpha1.FTPSServer) { s.Spec.Passive.Address = "198.51.100.7" },
			addrs: map[int32]string{0: "203.0.113.10"},
			check: func(t *testing.T, c *config.Config) {
				if c.Passive.Address != "198.51.100.7" || len(c.Passive.Addresses) != 0 {
					t.Errorf("passive %+v", c.Passive)
				}
			},
		},
		{
			name:  "load balancer host names are written; ftpsd resolves them for PASV",
			addrs: map[int32]string{0: "lb.example.com", 1: "203.0.113.11"},
			check: func(t *testing.T, c *config.Config) {
				if len(c.Passive.Addresses) != 2 || c.Passive.Addresses["0"] != "lb.example.com" || c.Passive.Addresses["1"] != "203.0.113.11" {
					t.Errorf("addresses %v", c.Passive.Addresses)
				}
			},
		},
		{
			name: "zero replicas still renders a valid file",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.Replicas = new(int32(0)) },
			check: func(t *testing.T, c *config.Config) {
				if c.Passive.PortRange != "30000-30015" {
					t.Errorf("portRange %q", c.Passive.PortRange)
				}
			},
		},
		{
			name: "unset limits take ftpsd's defaults",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.Limits = v1alpha1.Limits{} },
			check: func(t *testing.T, c *config.Config) {
				if c.Limits.MaxSessions != config.DefaultMaxSessions || c.Limits.IdleTimeout.Duration != config.DefaultIdleTimeout {
					t.Errorf("limits %+v", c.Limits)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sampleServer()
			if tc.edit != nil {
				tc.edit(srv)
			}
			c := FTPSDConfig(srv, nil, tc.addrs)
			b, err := MarshalConfig(c)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := config.Parse(b)
			if err != nil {
				t.Fatalf("ftpsd refuses the file: %v\n%s", err, b)
			}
			tc.check(t, parsed)
		})
	}
}

// TestRestartHash: the policy, limits and passive settings are reloaded by
// ftpsd and must not roll the pods; listeners must.
func TestRestartHash(t *testing.T) {
	srv := sampleServer()
	base := RestartHash(FTPSDConfig(srv, nil, nil), nil)
	if got := RestartHash(FTPSDConfig(srv, samplePolicy(), map[int32]string{0: "203.0.113.1"}), nil); got != base {
		t.Error("a policy or address change changed the restart hash")
	}
	srv.Spec.Ports.Implicit = 0
	if RestartHash(FTPSDConfig(srv, nil, nil), nil) == base {
		t.Error("turning implicit FTPS off did not change the restart hash")
	}
	// ftpsd reads limits and the passive layout for each new session: a
	// change of them must not roll the pods (it used to, dropping every
	// open session on an edit of spec.limits).
	srv = sampleServer()
	srv.Spec.Passive.PortsPerReplica = 32
	srv.Spec.Limits.MaxSessions = 7
	srv.Spec.Limits.IdleTimeout = &metav1.Duration{Duration: time.Minute}
	if RestartHash(FTPSDConfig(srv, nil, nil), nil) != base {
		t.Error("a limits or passive layout change changed the restart hash")
	}
	// ftpsd reads the client CA bundle only at start: a new bundle rolls.
	withCA := RestartHash(FTPSDConfig(srv, nil, nil), []byte("bundle 1"))
	if withCA == base || RestartHash(FTPSDConfig(srv, nil, nil), []byte("bundle 2")) == withCA {
		t.Error("a client CA bundle, or a change of it, did not change the restart hash")
	}
}

func TestConfigDeterministic(t *testing.T) {
	srv := sampleServer()
	addrs := map[int32]string{0: "203.0.113.10", 1: "203.0.113.11"}
	first, _ := MarshalConfig(FTPSDConfig(srv, samplePolicy(), addrs))
	for range 20 {
		b, _ := MarshalConfig(FTPSDConfig(srv, samplePolicy(), addrs))
		if string(b) != string(first) {
			t.Fatal("two renders of the same inputs differ")
		}
	}
}
