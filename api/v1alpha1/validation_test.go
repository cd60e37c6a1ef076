package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// server, policy and user wrap a spec (YAML, indented by two) into a manifest.
func server(spec string) string { return manifest("FTPSServer", spec) }
func policy(spec string) string { return manifest("FTPSPolicy", spec) }
func user(spec string) string   { return manifest("FTPSUser", spec) }

func manifest(kind, spec string) string {
	return fmt.Sprintf("apiVersion: ftps.dev/v1alpha1\nkind: %s\nmetadata:\n  name: invalid\nspec:\n%s", kind, spec)
}

// A user's minimum: a server and a password.
const userBase = "  serverRef: {name: s}\n  passwordSecretRef: {name: p}\n"

// Each manifest is refused by the API server, and the message names the
// field and says what to do.
func TestInvalidManifestsAreRefused(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		want     []string // all must appear in the error message
	}{
		{"issuerRef and secretName", server("  tls:\n    issuerRef: {name: ca}\n    secretName: mine\n"),
			[]string{"spec.tls", "at most one of issuerRef"}},
		{"duration under 1h", server("  tls:\n    duration: 30m\n"),
			[]string{"spec.tls.duration", "at least 1h"}},
		{"duration not a duration", server("  tls:\n    duration: 90 days\n"),
			[]string{"spec.tls.duration", "should match"}},
		{"renewBefore not below duration", server("  tls:\n    duration: 24h\n    renewBefore: 24h\n"),
			[]string{"spec.tls.renewBefore", "shorter than spec.tls.duration"}},
		{"RSA key too small", server("  tls:\n    privateKey: {algorithm: RSA, size: 1024}\n"),
			[]string{"spec.tls.privateKey.size", "2048, 3072 or 4096"}},
		{"unknown issuer kind", server("  tls:\n    issuerRef: {name: ca, kind: Vault}\n"),
			[]string{"spec.tls.issuerRef.kind", "Unsupported value"}},
		{"bad DNS name", server("  tls:\n    dnsNames: [Bad_Name.example.com]\n"),
			[]string{"spec.tls.dnsNames[0]", "should match"}},
		{"passive range past 65535", server("  replicas: 3\n  passive: {portRangeStart: 65000, portsPerReplica: 200}\n"),
			[]string{"spec.passive.portRangeStart", "at or below 65535"}},
		{"control port in passive range", server("  ports: {control: 30005}\n"),
			[]string{"spec.ports.control", "inside the passive range"}},
		{"implicit port in passive range", server("  ports: {implicit: 30001}\n"),
			[]string{"spec.ports.implicit", "inside the passive range"}},
		{"NodePort outside 30000-32767", server("  service: {type: NodePort}\n  passive: {portRangeStart: 20000}\n"),
			[]string{"spec.passive.portRangeStart", "NodePort", "30000-32767"}},
		{"NodePort range crossing 32767", server("  replicas: 4\n  service: {type: NodePort}\n  passive: {portRangeStart: 32700, portsPerReplica: 20}\n"),
			[]string{"spec.passive.portRangeStart", "NodePort"}},
		{"control equals implicit", server("  ports: {control: 990, implicit: 990}\n"),
			[]string{"spec.ports.implicit", "must differ from spec.ports.control"}},
		{"control port too large", server("  ports: {control: 70000}\n"),
			[]string{"spec.ports.control", "65535"}},
		{"negative replicas", server("  replicas: -1\n"),
			[]string{"spec.replicas", "greater than or equal to 0"}},
		{"unknown service type", server("  service: {type: Ingress}\n"),
			[]string{"spec.service.type", "Unsupported value"}},
		{"unknown passive mode", server("  passive: {mode: RoundRobin}\n"),
			[]string{"spec.passive.mode", "Unsupported value"}},
		{"source range not a CIDR", server("  service: {loadBalancerSourceRanges: [203.0.113.7]}\n"),
			[]string{"spec.service.loadBalancerSourceRanges", "must hold CIDRs"}},
		{"PROXY protocol without trusted CIDRs", server("  proxyProtocol: {enabled: true}\n"),
			[]string{"spec.proxyProtocol.trustedCIDRs", "must list the load balancers"}},
		{"passive address not an address", server("  passive: {address: 'not an address!'}\n"),
			[]string{"spec.passive.address", "IP address or a DNS host name"}},
		{"existing RWO claim with 2 replicas", server("  replicas: 2\n  storage: {existingClaim: data}\n"),
			[]string{"spec.storage.existingClaim", "ReadWriteMany"}},
		{"idle timeout too short", server("  limits: {idleTimeout: 1s}\n"),
			[]string{"spec.limits.idleTimeout", "at least 10s"}},
		{"unknown reclaim policy", server("  storage: {reclaimPolicy: Recycle}\n"),
			[]string{"spec.storage.reclaimPolicy", "Unsupported value"}},
		{"misspelt field", server("  replica: 2\n"),
			[]string{`unknown field "spec.replica"`}},

		{"username with capitals", user(userBase + "  username: Alice\n"),
			[]string{"spec.username", "should match"}},
		{"reserved username", user(userBase + "  username: anonymous\n"),
			[]string{"spec.username", "reserved for anonymous access"}},
		{"no way to log in", user("  serverRef: {name: s}\n  username: bob\n"),
			[]string{"set passwordSecretRef, clientCertificate or both"}},
		{"home escapes storage", user(userBase + "  username: bob\n  homeDirectory: partners/../../etc\n"),
			[]string{"spec.homeDirectory", "relative path"}},
		{"absolute home", user(userBase + "  username: bob\n  homeDirectory: /etc\n"),
			[]string{"spec.homeDirectory", "relative path"}},
		{"unknown permission", user(userBase + "  username: bob\n  permissions: [Read, Execute]\n"),
			[]string{"spec.permissions[1]", "Unsupported value"}},
		{"bad fingerprint", user(userBase + "  username: bob\n  clientCertificate: {sha256Fingerprint: abcd}\n"),
			[]string{"spec.clientCertificate.sha256Fingerprint", "should match"}},
		{"empty certificate identity", user(userBase + "  username: bob\n  clientCertificate: {}\n"),
			[]string{"spec.clientCertificate", "set commonName, sha256Fingerprint or both"}},
		{"no serverRef", user("  username: bob\n  passwordSecretRef: {name: p}\n"),
			[]string{"spec.serverRef", "Required value"}},

		{"unknown requireTLS", policy("  control: {requireTLS: Never}\n"),
			[]string{"spec.control.requireTLS", "Unsupported value"}},
		{"clear login users with AllCommands", policy("  control: {requireTLS: AllCommands, clearLoginUsers: [legacy]}\n"),
			[]string{"spec.control.clearLoginUsers", "requireTLS: Login"}},
		{"TLS 1.0", policy("  tls: {minVersion: \"1.0\"}\n"),
			[]string{"spec.tls.minVersion", "Unsupported value"}},
		{"cipher suites with TLS 1.3", policy("  tls: {minVersion: \"1.3\", cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}\n"),
			[]string{"spec.tls.cipherSuites", "TLS 1.2 only"}},
		{"weak cipher suite", policy("  tls: {cipherSuites: [TLS_RSA_WITH_RC4_128_SHA]}\n"),
			[]string{"spec.tls.cipherSuites[0]", "Unsupported value"}},
		{"unknown data protection", policy("  data: {protection: Safe}\n"),
			[]string{"spec.data.protection", "Unsupported value"}},
		{"active mode to anyone", policy("  data: {activeMode: Any}\n"),
			[]string{"spec.data.activeMode", "Unsupported value"}},
		{"clear-only anonymous with TLS login", policy("  authentication: {anonymous: {enabled: true, connection: ClearOnly}}\n"),
			[]string{"spec.authentication.anonymous.connection", "requireTLS Optional"}},
		{"clear anonymous with private data", policy("  control: {requireTLS: Optional}\n  authentication: {anonymous: {enabled: true, connection: Any}}\n"),
			[]string{"spec.authentication.anonymous", "spec.data.protection"}},
	}
	ns := newNamespace(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := decodeAll([]byte(tc.manifest))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest does not parse: %v", err)
			}
			obj := objs[0]
			obj.SetNamespace(ns)
			err = env.Client.Create(context.Background(), obj, strict)
			if err == nil {
				t.Fatalf("the API server accepted:\n%s", tc.manifest)
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want an Invalid or BadRequest error, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not say %q:\n%v", w, err)
				}
			}
		})
	}
	if len(cases) < 20 {
		t.Fatalf("only %d invalid manifests; the table must hold at least 20", len(cases))
	}
}
