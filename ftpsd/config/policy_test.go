package config

import (
	"strings"
	"testing"
)

// Each rule of Policy.Validate that mirrors a rule of the FTPSPolicy CRD
// (api/v1alpha1's TestPolicyAgreement checks the two against each other).
func TestPolicyValidate(t *testing.T) {
	users := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = "user" + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return l
	}
	cases := []struct {
		name   string
		mutate func(*Policy)
		want   string // "" means valid; else a part of the error
	}{
		{"defaults", func(*Policy) {}, ""},

		{"clearLoginUsers with Login", func(p *Policy) { p.Control.ClearLoginUsers = []string{"legacy", "batch.job_1"} }, ""},
		{"clearLoginUsers with AllCommands", func(p *Policy) {
			p.Control.RequireTLS = RequireTLSAllCommands
			p.Control.ClearLoginUsers = []string{"legacy"}
		}, "policy.control.clearLoginUsers: only applies with requireTLS: Login"},
		{"clearLoginUsers with Optional", func(p *Policy) {
			p.Control.RequireTLS = RequireTLSOptional
			p.Control.ClearLoginUsers = []string{"legacy"}
		}, "policy.control.clearLoginUsers: only applies with requireTLS: Login"},
		{"empty clearLoginUsers with AllCommands", func(p *Policy) {
			p.Control.RequireTLS = RequireTLSAllCommands
			p.Control.ClearLoginUsers = []string{}
		}, ""},
		{"256 clearLoginUsers", func(p *Policy) { p.Control.ClearLoginUsers = users(256) }, ""},
		{"257 clearLoginUsers", func(p *Policy) { p.Control.ClearLoginUsers = users(257) }, "policy.control.clearLoginUsers: 257 items, at most 256"},
		{"64-character user", func(p *Policy) { p.Control.ClearLoginUsers = []string{strings.Repeat("a", 64)} }, ""},
		{"65-character user", func(p *Policy) { p.Control.ClearLoginUsers = []string{strings.Repeat("a", 65)} }, "policy.control.clearLoginUsers[0]"},
		{"user in capitals", func(p *Policy) { p.Control.ClearLoginUsers = []string{"ok", "Legacy"} }, "policy.control.clearLoginUsers[1]: \"Legacy\" is not a user name"},
		{"user ending with a dash", func(p *Policy) { p.Control.ClearLoginUsers = []string{"legacy-"} }, "is not a user name"},
		{"empty user", func(p *Policy) { p.Control.ClearLoginUsers = []string{""} }, "is not a user name"},
		{"user listed twice", func(p *Policy) { p.Control.ClearLoginUsers = []string{"a", "b", "a"} }, "policy.control.clearLoginUsers[2]: \"a\" is listed twice"},

		{"every cipher suite", func(p *Policy) {
			for s := range cipherSuites {
				p.TLS.CipherSuites = append(p.TLS.CipherSuites, s)
			}
		}, ""},
		{"seven cipher suites", func(p *Policy) {
			for s := range cipherSuites {
				p.TLS.CipherSuites = append(p.TLS.CipherSuites, s)
			}
			p.TLS.CipherSuites = append(p.TLS.CipherSuites, p.TLS.CipherSuites[0])
		}, "policy.tls.cipherSuites: 7 items, at most 6"},
		{"cipher suite listed twice", func(p *Policy) {
			p.TLS.CipherSuites = []CipherSuite{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
		}, "policy.tls.cipherSuites[1]: \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\" is listed twice"},
		{"CBC suite crypto/tls still offers", func(p *Policy) {
			p.TLS.CipherSuites = []CipherSuite{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}
		}, "policy.tls.cipherSuites[0]: \"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\" is not one of"},
		{"TLS 1.3 suite", func(p *Policy) { p.TLS.CipherSuites = []CipherSuite{"TLS_AES_128_GCM_SHA256"} }, "policy.tls.cipherSuites[0]"},
		{"cipher suites with minVersion 1.3", func(p *Policy) {
			p.TLS.MinVersion = TLSVersion13
			p.TLS.CipherSuites = []CipherSuite{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
		}, "policy.tls.cipherSuites: applies to TLS 1.2 only"},
		{"minVersion 1.3 alone", func(p *Policy) { p.TLS.MinVersion = TLSVersion13 }, ""},
		{"minVersion 1.1", func(p *Policy) { p.TLS.MinVersion = "1.1" }, "policy.tls.minVersion: \"1.1\" is not one of"},

		{"anonymous over TLS with private data", func(p *Policy) { p.Authentication.Anonymous.Enabled = true }, ""},
		{"anonymous ClearOnly with Optional and Clear", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousClearOnly}
			p.Control.RequireTLS = RequireTLSOptional
			p.Data.Protection = ProtectionClear
		}, ""},
		{"anonymous ClearOnly with Login", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousClearOnly}
			p.Data.Protection = ProtectionClear
		}, "policy.authentication.anonymous.connection: ClearOnly needs policy.control.requireTLS Optional"},
		{"anonymous ClearOnly with AllCommands", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousClearOnly}
			p.Control.RequireTLS = RequireTLSAllCommands
			p.Data.Protection = ProtectionClear
		}, "ClearOnly needs policy.control.requireTLS Optional"},
		{"disabled anonymous ClearOnly", func(p *Policy) {
			p.Authentication.Anonymous.Connection = AnonymousClearOnly
			p.Control.RequireTLS = RequireTLSAllCommands
		}, ""},
		{"anonymous Any with private data", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousAny}
		}, "policy.authentication.anonymous.connection: anonymous access over a clear control connection needs clear data connections"},
		{"anonymous ClearOnly with private data", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousClearOnly}
			p.Control.RequireTLS = RequireTLSOptional
		}, "needs clear data connections"},
		{"anonymous Any with PrivateExceptListings", func(p *Policy) {
			p.Authentication.Anonymous = AnonymousPolicy{Enabled: true, Connection: AnonymousAny}
			p.Data.Protection = ProtectionPrivateExceptListings
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p Policy
			p.ApplyDefaults()
			tc.mutate(&p)
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// Suites maps every CipherSuite value, and only those, to crypto/tls.
func TestSuites(t *testing.T) {
	p := TLSPolicy{CipherSuites: []CipherSuite{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}}
	ids, err := p.Suites()
	if err != nil || len(ids) != 1 || ids[0] != 0xcca9 {
		t.Fatalf("Suites() = %x, %v", ids, err)
	}
	p.CipherSuites = []CipherSuite{"TLS_RSA_WITH_AES_128_GCM_SHA256"}
	if _, err := p.Suites(); err == nil {
		t.Fatal("TLS_RSA_WITH_AES_128_GCM_SHA256 accepted")
	}
}
