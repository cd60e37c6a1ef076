package v1alpha1_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// createAndRead creates a manifest as kubectl would and reads back its spec.
func createAndRead(t *testing.T, ns, manifestYAML string) map[string]any {
	t.Helper()
	objs, err := decodeAll([]byte(manifestYAML))
	if err != nil || len(objs) != 1 {
		t.Fatalf("manifest does not parse: %v", err)
	}
	obj := objs[0]
	obj.SetNamespace(ns)
	if err := env.Client.Create(context.Background(), obj, strict); err != nil {
		t.Fatalf("create: %v", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(obj.GroupVersionKind())
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatalf("get: %v", err)
	}
	spec, _ := got.Object["spec"].(map[string]any)
	return spec
}

func mustYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON so numbers compare as the API server returns them.
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func normalise(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// Objects with only their required fields read back with every documented
// default filled in by the API server.
func TestDefaults(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct {
		name, manifest, want string
	}{
		{"FTPSServer", server("  {}\n"), `
replicas: 1
tls: {duration: 2160h, privateKey: {algorithm: ECDSA}}
ports: {control: 21, implicit: 0}
service: {type: LoadBalancer, externalTrafficPolicy: Local}
passive: {mode: PerReplica, portRangeStart: 30000, portsPerReplica: 16}
storage: {size: 10Gi, accessModes: [ReadWriteOnce], reclaimPolicy: Retain}
limits: {maxSessions: 1000, maxSessionsPerIP: 50, idleTimeout: 5m, loginTimeout: 30s, maxLoginFailures: 5, banDuration: 15m}
proxyProtocol: {enabled: false}
`},
		{"FTPSServer with an issuer", server("  tls:\n    issuerRef: {name: ca}\n    clientCA: {secretName: partners-ca}\n"), `
replicas: 1
tls:
  issuerRef: {name: ca, kind: Issuer, group: cert-manager.io}
  clientCA: {secretName: partners-ca, key: ca.crt}
  duration: 2160h
  privateKey: {algorithm: ECDSA}
ports: {control: 21, implicit: 0}
service: {type: LoadBalancer, externalTrafficPolicy: Local}
passive: {mode: PerReplica, portRangeStart: 30000, portsPerReplica: 16}
storage: {size: 10Gi, accessModes: [ReadWriteOnce], reclaimPolicy: Retain}
limits: {maxSessions: 1000, maxSessionsPerIP: 50, idleTimeout: 5m, loginTimeout: 30s, maxLoginFailures: 5, banDuration: 15m}
proxyProtocol: {enabled: false}
`},
		{"FTPSPolicy", policy("  {}\n"), `
control: {requireTLS: Login, ccc: Deny}
tls: {minVersion: "1.2"}
data: {protection: Private, sessionReuse: Required, requireSameAddress: true, requireSameClientCertificate: true, activeMode: Disabled}
authentication: {clientCertificate: None, anonymous: {enabled: false, connection: TLSOnly}}
`},
		{"FTPSUser", user("  serverRef: {name: s}\n  username: bob\n  passwordSecretRef: {name: bob-password}\n"), `
serverRef: {name: s}
username: bob
passwordSecretRef: {name: bob-password, key: password}
permissions: [List, Read]
disabled: false
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := manifestNamed(tc.manifest, "defaults-"+dns(tc.name))
			got := normalise(createAndRead(t, ns, m))
			want := mustYAML(t, tc.want)
			if !reflect.DeepEqual(got, want) {
				g, _ := yaml.Marshal(got)
				w, _ := yaml.Marshal(want)
				t.Errorf("spec read back:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
