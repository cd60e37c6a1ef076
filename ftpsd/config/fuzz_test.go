package config

import (
	"bytes"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzConfig feeds arbitrary bytes to Parse, the entry point of ftpsd.yaml
// (Load is ReadFile then Parse). It must never panic, and whatever it accepts
// must be defaulted and valid, and must round-trip: marshalling it and parsing
// that again gives the same configuration (compared in marshalled form, so
// that an empty map and an absent one count as equal, as they are to ftpsd).
// Seeds are in testdata/fuzz/FuzzConfig, plus the ones added here.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"",
		"root: /srv\n",
		"{\"root\": \"/srv\", \"limits\": {\"maxSessions\": 3, \"idleTimeout\": \"1m\"}}",
		"passive: {portRange: 30000-30031, perReplica: {portsPerReplica: 16}, addresses: {\"0\": 203.0.113.10}}\n",
		"policy: {control: {requireTLS: AllCommands}, authentication: {anonymous: {enabled: true, connection: ClearOnly}}}\n",
		"proxyProtocol: {enabled: true, trustedCIDRs: [10.0.0.0/8, \"::1/128\"]}\nanonymous: {home: pub/a}\n",
		"limits: {idleTimeout: 0s, banDuration: -1s}\n",
		"tls: {certFile: /c, keyFile: /k, clientCAFile: /ca}\npolicy: {authentication: {clientCertificate: Required}}\n",
		"syncUploads: false\ncredentialCache: false\nimplicitListen: \"[::1]:990\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a config and an error")
			}
			return
		}
		checkDefaulted(t, c)
		if err := c.Validate(); err != nil {
			t.Fatalf("an accepted config fails its own validation: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing the marshalled config %q: %v", out, err)
		}
		out2, err := yaml.Marshal(c2)
		if err != nil {
			t.Fatalf("marshal again: %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the config:\n%s\n->\n%s", out, out2)
		}
		if r := RestartNeeded(c, c2); len(r) != 0 {
			t.Fatalf("round trip changed %v", r)
		}
	})
}

// checkDefaulted checks what the engine relies on in every accepted config:
// no unset field that has a default, no zero or negative limit, and a
// passive range whose per-replica slices stay inside it.
func checkDefaulted(t *testing.T, c *Config) {
	t.Helper()
	if c.Listen == "" || c.Root == "" || c.UsersFile == "" || c.MetricsListen == "" || c.Anonymous.Home == "" {
		t.Fatalf("a defaulted field is empty: %+v", c)
	}
	if c.SyncUploads == nil || c.CredentialCache == nil || c.Policy.Data.RequireSameAddress == nil || c.Policy.Data.RequireSameClientCertificate == nil {
		t.Fatalf("a defaulted pointer is nil: %+v", c)
	}
	l := c.Limits
	if l.MaxSessions <= 0 || l.MaxSessionsPerIP <= 0 || l.MaxLoginFailures <= 0 {
		t.Fatalf("a count limit is not positive: %+v", l)
	}
	if l.IdleTimeout.Duration <= 0 || l.LoginTimeout.Duration <= 0 || l.DataTimeout.Duration <= 0 || l.BanDuration.Duration <= 0 {
		t.Fatalf("a duration limit is not positive: %+v", l)
	}
	if err := validRelative(c.Anonymous.Home); err != nil {
		t.Fatalf("anonymous.home %q accepted: %v", c.Anonymous.Home, err)
	}
	if c.Passive.PortRange == "" {
		return
	}
	first, last, err := ParsePortRange(c.Passive.PortRange)
	if err != nil {
		t.Fatalf("accepted port range %q: %v", c.Passive.PortRange, err)
	}
	lo, hi, err := c.Passive.PortsFor(0)
	if err != nil || lo < first || hi > last || lo > hi {
		t.Fatalf("PortsFor(0) = %d-%d, %v, outside %d-%d", lo, hi, err, first, last)
	}
}
