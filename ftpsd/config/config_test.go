package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDefaultsAreSecure(t *testing.T) {
	c, err := Parse([]byte("root: /srv\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if p.Control.RequireTLS != RequireTLSLogin || p.Control.CCC != CCCDeny || p.TLS.MinVersion != "1.2" ||
		p.Data.Protection != ProtectionPrivate || p.Data.SessionReuse != SessionReuseRequired ||
		!*p.Data.RequireSameAddress || !*p.Data.RequireSameClientCertificate || p.Data.ActiveMode != ActiveModeDisabled ||
		p.Authentication.ClientCertificate != ClientCertificateNone || p.Authentication.Anonymous.Enabled {
		t.Fatalf("defaults not secure: %+v", p)
	}
	if c.Listen != ":2121" || c.Limits.IdleTimeout.Duration != 5*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseFull(t *testing.T) {
	y := `
listen: ":2121"
implicitListen: ":990"
root: /data
usersFile: /etc/ftpsd/users/users.yaml
tls: {certFile: /c, keyFile: /k, clientCAFile: /ca.pem}
passive:
  portRange: "30000-30031"
  perReplica: {portsPerReplica: 16}
  address: ""
  addresses: {"0": "203.0.113.10", "1": "203.0.113.11"}
policy:
  control: {requireTLS: Login, clearLoginUsers: [legacy], ccc: AllowAfterLogin}
  tls: {minVersion: "1.2", cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}
  data: {protection: ClientChoice, sessionReuse: Optional, requireSameAddress: false, activeMode: ClientAddressOnly}
  authentication: {clientCertificate: Sufficient, anonymous: {enabled: true, connection: Any}}
limits: {maxSessions: 10, idleTimeout: 1m, loginTimeout: 5s, maxLoginFailures: 3, banDuration: 1h}
proxyProtocol: {enabled: true, trustedCIDRs: [10.0.0.0/8]}
metricsListen: ":9090"
`
	c, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if *c.Policy.Data.RequireSameAddress || c.Limits.LoginTimeout.Duration != 5*time.Second {
		t.Fatalf("%+v", c)
	}
	lo, hi, err := c.Passive.PortsFor(1)
	if err != nil || lo != 30016 || hi != 30031 {
		t.Fatalf("PortsFor(1) = %d %d %v", lo, hi, err)
	}
	if _, _, err := c.Passive.PortsFor(2); err == nil {
		t.Fatal("ordinal 2 is beyond the range")
	}
	if c.Passive.AddressFor(1) != "203.0.113.11" || c.Passive.AddressFor(5) != "" {
		t.Fatal("AddressFor")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"bogus: 1", "unknown field"},
		{"policy: {control: {requireTLS: Sometimes}}", "policy.control.requireTLS"},
		{"policy: {data: {protection: Secret}}", "policy.data.protection"},
		{"policy: {tls: {minVersion: \"1.0\"}}", "policy.tls.minVersion"},
		{"policy: {tls: {cipherSuites: [TLS_RSA_WITH_RC4_128_SHA]}}", "cipherSuites"},
		{"passive: {portRange: 30000}", "passive.portRange"},
		{"passive: {portRange: 30010-30000}", "passive.portRange"},
		{"passive: {portRange: 30000-30001, perReplica: {portsPerReplica: 4}}", "portsPerReplica"},
		{"passive: {addresses: {x: 1.2.3.4}}", "passive.addresses"},
		{"passive: {address: \"not a host\"}", "passive.address"},
		{"passive: {addresses: {\"0\": \"-bad-.example\"}}", "passive.addresses[0]"},
		{"limits: {idleTimeout: soon}", "invalid duration \"soon\""},
		{"tls: {certFile: /c}", "tls"},
		{"listen: nope", "listen"},
		{"policy: {authentication: {clientCertificate: Sufficient}}", "tls.clientCAFile"},
		// Read as the API server reads a manifest: names are case-sensitive,
		// a number is not a string, a key is given once.
		{"policy: {control: {requireTLs: Login}}", "requireTLs"},
		{"Policy: {}", "Policy"},
		{"policy: {tls: {minVersion: 1.2}}", "minVersion"},
		{"policy: {control: {clearLoginUsers: [123]}}", "clearLoginUsers"},
		{"listen: \":21\"\nlisten: \":2121\"", "listen"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
	}
}

func TestPassiveHostname(t *testing.T) {
	if _, err := Parse([]byte("passive: {address: lb-1.elb.example.com, addresses: {\"1\": 198.51.100.7}}")); err != nil {
		t.Fatal(err)
	}
}

func TestOrdinalFromPodName(t *testing.T) {
	for in, want := range map[string]int{"ftp-0": 0, "my-ftp-12": 12, "ftp": -1, "ftp-": -1, "ftp-x": -1} {
		got, _ := OrdinalFromPodName(in)
		if got != want {
			t.Errorf("%q -> %d, want %d", in, got, want)
		}
	}
}

func TestRestartNeeded(t *testing.T) {
	old := Default()
	same := Default()
	same.Policy.Control.CCC = CCCAllowAfterLogin
	same.Limits.MaxSessions = 7
	same.Passive.PortRange = "30000-30010"
	same.Limits.IdleTimeout.Duration = time.Minute
	same.ProxyProtocol.Enabled = true
	if string(RestartKey(old)) != string(RestartKey(same)) {
		t.Fatal("a reloadable change changed the restart key")
	}
	if got := RestartNeeded(old, same); len(got) != 0 {
		t.Fatalf("policy, limits and passive changes need no restart, got %v", got)
	}
	changed := Default()
	changed.Listen = ":2200"
	changed.Root = "/elsewhere"
	changed.TLS.CertFile, changed.TLS.KeyFile = "/c", "/k"
	got := RestartNeeded(old, changed)
	want := []string{"listen", "root", "tls.certFile", "tls.keyFile"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestEveryFieldHasReloadClass walks every field of Config: one added without
// a `reload` tag fails here, so that the operator's restart hash and the
// reload warning never guess.
func TestEveryFieldHasReloadClass(t *testing.T) {
	all, err := Fields()
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]ReloadClass{}
	for _, f := range all {
		classes[f.Path] = f.Class
	}
	// What ftpsd really reloads, checked against the code that reads it:
	// limits per session and per login, the proxy settings per connection.
	for path, want := range map[string]ReloadClass{
		"listen": ReloadRestart, "root": ReloadRestart, "tls.certFile": ReloadRestart,
		"limits.maxSessions": ReloadLive, "limits.idleTimeout": ReloadLive, "limits.banDuration": ReloadLive,
		"passive.portRange": ReloadLive, "policy": ReloadLive, "proxyProtocol.trustedCIDRs": ReloadLive,
	} {
		if classes[path] != want {
			t.Errorf("%s: class %q, want %q", path, classes[path], want)
		}
	}
}

// TestUnclassifiedFieldIsFound: the walker reports a field without a tag
// (as a new field of Config would be) and counts it as start-only.
func TestUnclassifiedFieldIsFound(t *testing.T) {
	type inner struct {
		Tagged   int `json:"tagged" reload:"live"`
		Untagged int `json:"untagged"`
	}
	type probe struct {
		Inner inner  `json:"inner"`
		Odd   string `json:"odd" reload:"sometimes"`
	}
	var missing []string
	got := classify(reflect.TypeFor[probe](), "", nil, &missing)
	if want := []string{"inner.untagged", "odd (unknown class sometimes)"}; !slices.Equal(missing, want) {
		t.Fatalf("missing %v, want %v", missing, want)
	}
	if len(got) != 3 || got[1].Class != "" || got[2].Class != "" {
		t.Fatalf("unclassified fields must be listed with no class: %+v", got)
	}
}
