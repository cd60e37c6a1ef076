package v1alpha1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// policyCase is one FTPSPolicy spec, written once as YAML: it goes to the API
// server as an FTPSPolicy and to ftpsd as the policy section of ftpsd.yaml.
type policyCase struct {
	name string
	spec string // YAML lines of the spec (flow style), no indentation
	// valid says whether both must accept it. When false, field is a word
	// (the field's json name) that both error messages must contain.
	valid bool
	field string
}

func accept(name, spec string) policyCase { return policyCase{name: name, spec: spec, valid: true} }
func refuse(name, field, spec string) policyCase {
	return policyCase{name: name, spec: spec, field: field}
}

// indent2 indents each line of the spec by two spaces ({} when empty).
func indent2(spec string) string {
	if spec == "" {
		spec = "{}"
	}
	return "  " + strings.ReplaceAll(strings.TrimSuffix(spec, "\n"), "\n", "\n  ") + "\n"
}

// names returns a flow list of n distinct valid user names.
func names(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("user%d", i)
	}
	return "[" + strings.Join(l, ", ") + "]"
}

var allSuites = "[TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, " +
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, " +
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]"

// policyAgreementCases covers every enum value, every list bound and
// pattern, and both sides of every XValidation rule of the FTPSPolicy CRD.
func policyAgreementCases() []policyCase {
	return []policyCase{
		// Defaults and every enum value.
		accept("empty spec", ""),
		accept("every default written out", "control: {requireTLS: Login, ccc: Deny}\ntls: {minVersion: \"1.2\"}\n"+
			"data: {protection: Private, sessionReuse: Required, requireSameAddress: true, requireSameClientCertificate: true, activeMode: Disabled}\n"+
			"authentication: {clientCertificate: None, anonymous: {enabled: false, connection: TLSOnly}}"),
		accept("empty sections", "control: {}\ntls: {}\ndata: {}\nauthentication: {anonymous: {}}"),
		accept("requireTLS AllCommands", "control: {requireTLS: AllCommands}"),
		accept("requireTLS Optional", "control: {requireTLS: Optional}"),
		accept("ccc AllowAfterLogin", "control: {ccc: AllowAfterLogin}"),
		accept("minVersion 1.3", "tls: {minVersion: \"1.3\"}"),
		accept("protection PrivateExceptListings", "data: {protection: PrivateExceptListings}"),
		accept("protection ClientChoice", "data: {protection: ClientChoice}"),
		accept("protection Clear", "data: {protection: Clear}"),
		accept("sessionReuse Optional", "data: {sessionReuse: Optional}"),
		accept("same address and certificate off", "data: {requireSameAddress: false, requireSameClientCertificate: false}"),
		accept("activeMode ClientAddressOnly", "data: {activeMode: ClientAddressOnly}"),
		accept("clientCertificate Optional", "authentication: {clientCertificate: Optional}"),
		accept("clientCertificate Required", "authentication: {clientCertificate: Required}"),
		accept("clientCertificate Sufficient", "authentication: {clientCertificate: Sufficient}"),

		refuse("unknown requireTLS", "requireTLS", "control: {requireTLS: Never}"),
		refuse("requireTLS in lower case", "requireTLS", "control: {requireTLS: login}"),
		refuse("unknown ccc", "ccc", "control: {ccc: Allow}"),
		refuse("TLS 1.0", "minVersion", "tls: {minVersion: \"1.0\"}"),
		refuse("TLS 1.1", "minVersion", "tls: {minVersion: \"1.1\"}"),
		refuse("minVersion as a number", "minVersion", "tls: {minVersion: 1.2}"),
		refuse("unknown protection", "protection", "data: {protection: Safe}"),
		refuse("unknown sessionReuse", "sessionReuse", "data: {sessionReuse: Never}"),
		refuse("unknown activeMode", "activeMode", "data: {activeMode: Any}"),
		refuse("requireSameAddress not a boolean", "requireSameAddress", "data: {requireSameAddress: \"yes\"}"),
		refuse("unknown clientCertificate", "clientCertificate", "authentication: {clientCertificate: Always}"),
		refuse("unknown anonymous connection", "connection", "authentication: {anonymous: {enabled: true, connection: Clear}}"),
		refuse("anonymous enabled not a boolean", "enabled", "authentication: {anonymous: {enabled: \"true\"}}"),
		refuse("misspelt field", "requireTLss", "control: {requireTLss: Login}"),
		refuse("field name in the wrong case", "requireTLs", "control: {requireTLs: Login}"),

		// clearLoginUsers: only with requireTLS Login; bounds, pattern, set.
		accept("clearLoginUsers with the default Login", "control: {clearLoginUsers: [legacy, batch.job_1, a, 0-9]}"),
		accept("clearLoginUsers with Login", "control: {requireTLS: Login, clearLoginUsers: [legacy]}"),
		accept("empty clearLoginUsers with AllCommands", "control: {requireTLS: AllCommands, clearLoginUsers: []}"),
		accept("256 clearLoginUsers", "control: {clearLoginUsers: "+names(256)+"}"),
		accept("64-character user", "control: {clearLoginUsers: ["+strings.Repeat("a", 64)+"]}"),
		refuse("clearLoginUsers with AllCommands", "clearLoginUsers", "control: {requireTLS: AllCommands, clearLoginUsers: [legacy]}"),
		refuse("clearLoginUsers with Optional", "clearLoginUsers", "control: {requireTLS: Optional, clearLoginUsers: [legacy]}"),
		refuse("257 clearLoginUsers", "clearLoginUsers", "control: {clearLoginUsers: "+names(257)+"}"),
		refuse("65-character user", "clearLoginUsers", "control: {clearLoginUsers: ["+strings.Repeat("a", 65)+"]}"),
		refuse("user in capitals", "clearLoginUsers", "control: {clearLoginUsers: [Legacy]}"),
		refuse("user starting with a dash", "clearLoginUsers", "control: {clearLoginUsers: [-legacy]}"),
		refuse("user ending with a dot", "clearLoginUsers", "control: {clearLoginUsers: [legacy.]}"),
		refuse("user with a space", "clearLoginUsers", "control: {clearLoginUsers: [\"le gacy\"]}"),
		refuse("empty user", "clearLoginUsers", "control: {clearLoginUsers: [\"\"]}"),
		refuse("user as a number", "clearLoginUsers", "control: {clearLoginUsers: [123]}"),
		refuse("user listed twice", "clearLoginUsers", "control: {clearLoginUsers: [legacy, legacy]}"),

		// cipherSuites: the enum, at most 6, a set, TLS 1.2 only.
		accept("every cipher suite", "tls: {cipherSuites: "+allSuites+"}"),
		accept("one cipher suite with minVersion 1.2", "tls: {minVersion: \"1.2\", cipherSuites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]}"),
		accept("no cipher suites with minVersion 1.3", "tls: {minVersion: \"1.3\", cipherSuites: []}"),
		refuse("cipher suites with minVersion 1.3", "cipherSuites", "tls: {minVersion: \"1.3\", cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}"),
		refuse("RC4 suite", "cipherSuites", "tls: {cipherSuites: [TLS_RSA_WITH_RC4_128_SHA]}"),
		refuse("CBC suite Go still offers", "cipherSuites", "tls: {cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]}"),
		refuse("RSA key exchange suite", "cipherSuites", "tls: {cipherSuites: [TLS_RSA_WITH_AES_128_GCM_SHA256]}"),
		refuse("TLS 1.3 suite", "cipherSuites", "tls: {cipherSuites: [TLS_AES_128_GCM_SHA256]}"),
		refuse("OpenSSL suite name", "cipherSuites", "tls: {cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]}"),
		refuse("suite listed twice", "cipherSuites", "tls: {cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}"),
		refuse("seven suites", "cipherSuites", "tls: {cipherSuites: "+strings.TrimSuffix(allSuites, "]")+", TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}"),

		// Anonymous access: ClearOnly needs requireTLS Optional; anything but
		// TLSOnly needs data protection other than Private.
		accept("anonymous over TLS with private data", "authentication: {anonymous: {enabled: true}}"),
		accept("anonymous TLSOnly with AllCommands", "control: {requireTLS: AllCommands}\nauthentication: {anonymous: {enabled: true, connection: TLSOnly}}"),
		accept("anonymous Any with ClientChoice", "data: {protection: ClientChoice}\nauthentication: {anonymous: {enabled: true, connection: Any}}"),
		accept("anonymous Any with AllCommands and PrivateExceptListings", "control: {requireTLS: AllCommands}\ndata: {protection: PrivateExceptListings}\nauthentication: {anonymous: {enabled: true, connection: Any}}"),
		accept("anonymous ClearOnly with Optional and Clear", "control: {requireTLS: Optional}\ndata: {protection: Clear}\nauthentication: {anonymous: {enabled: true, connection: ClearOnly}}"),
		accept("disabled anonymous ClearOnly is not checked", "control: {requireTLS: AllCommands}\nauthentication: {anonymous: {enabled: false, connection: ClearOnly}}"),
		accept("disabled anonymous Any with private data", "authentication: {anonymous: {connection: Any}}"),
		refuse("anonymous ClearOnly with the default Login", "connection", "data: {protection: Clear}\nauthentication: {anonymous: {enabled: true, connection: ClearOnly}}"),
		refuse("anonymous ClearOnly with AllCommands", "connection", "control: {requireTLS: AllCommands}\ndata: {protection: ClientChoice}\nauthentication: {anonymous: {enabled: true, connection: ClearOnly}}"),
		refuse("anonymous ClearOnly with private data", "connection", "control: {requireTLS: Optional}\nauthentication: {anonymous: {enabled: true, connection: ClearOnly}}"),
		refuse("anonymous Any with the default private data", "connection", "control: {requireTLS: Optional}\nauthentication: {anonymous: {enabled: true, connection: Any}}"),
		refuse("anonymous Any with explicit Private", "connection", "data: {protection: Private}\nauthentication: {anonymous: {enabled: true, connection: Any}}"),
	}
}

// ftpsdPolicy loads spec the way ftpsd loads ftpsd.yaml (strict parse,
// ApplyDefaults, Validate). The rest of the file is the minimum that lets
// any policy through: clientCAFile, which clientCertificate needs.
func ftpsdPolicy(spec string) (*config.Policy, error) {
	c, err := config.Parse([]byte("tls: {clientCAFile: /etc/ftpsd/client-ca/ca.crt}\npolicy:\n" + indent2(spec)))
	if err != nil {
		return nil, err
	}
	return &c.Policy, nil
}

// The API server (the CRD's schema) and ftpsd (config.Validate) accept and
// refuse the same policies, and default the accepted ones the same way.
func TestPolicyAgreement(t *testing.T) {
	ns := newNamespace(t)
	cases := policyAgreementCases()
	valid := 0
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := fmt.Sprintf("apiVersion: ftps.dev/v1alpha1\nkind: FTPSPolicy\nmetadata:\n  name: p%d\nspec:\n%s", i, indent2(tc.spec))
			objs, err := decodeAll([]byte(m))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest does not parse: %v\n%s", err, m)
			}
			obj := objs[0]
			obj.SetNamespace(ns)
			apiErr := env.Client.Create(context.Background(), obj, strict)
			pol, ftpsdErr := ftpsdPolicy(tc.spec)

			switch {
			case apiErr == nil && ftpsdErr != nil:
				t.Fatalf("the API server accepts and ftpsd refuses:\n%s\nftpsd: %v", tc.spec, ftpsdErr)
			case apiErr != nil && ftpsdErr == nil:
				t.Fatalf("ftpsd accepts and the API server refuses:\n%s\nAPI server: %v", tc.spec, apiErr)
			case apiErr == nil && !tc.valid:
				t.Fatalf("both accept a policy the table says is invalid:\n%s", tc.spec)
			case apiErr != nil && tc.valid:
				t.Fatalf("both refuse a policy the table says is valid:\n%s\nAPI server: %v\nftpsd: %v", tc.spec, apiErr, ftpsdErr)
			case apiErr != nil:
				for who, err := range map[string]error{"API server": apiErr, "ftpsd": ftpsdErr} {
					if !strings.Contains(err.Error(), tc.field) {
						t.Errorf("the %s's message does not name %s: %v", who, tc.field, err)
					}
				}
				return
			}

			// Both accept: the API server's defaults are ftpsd's.
			got := &v1alpha1.FTPSPolicy{}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			api, _ := json.Marshal(got.Spec)
			ftpsd, _ := json.Marshal(pol)
			if string(api) != string(ftpsd) {
				t.Errorf("defaults differ:\nAPI server: %s\nftpsd:      %s", api, ftpsd)
			}
		})
		if tc.valid {
			valid++
		}
	}
	t.Logf("%d policies: %d valid, %d invalid", len(cases), valid, len(cases)-valid)
}
