package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// Scenario 8: the real kubectl's apply of invalid manifests is refused by
// the API server with a message that names the field.
func TestKubectlApplyRefusesInvalidManifests(t *testing.T) {
	kubectl := filepath.Join(testenv.AssetsDirOrDefault(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("%v: run 'make envtest', which builds kubectl too", err)
	}
	ns := st.NewNamespace(t)
	cases := []struct{ name, manifest, want string }{
		{"control port in the passive range", "kind: FTPSServer\nspec:\n  ports: {control: 30001}\n", "spec.ports.control"},
		{"issuer and Secret", "kind: FTPSServer\nspec:\n  tls: {issuerRef: {name: ca}, secretName: mine}\n", "at most one of issuerRef"},
		{"bad username", "kind: FTPSUser\nspec:\n  serverRef: {name: s}\n  username: Bad_Name\n  passwordSecretRef: {name: p}\n", "spec.username"},
		{"weak cipher", "kind: FTPSPolicy\nspec:\n  tls: {cipherSuites: [TLS_RSA_WITH_RC4_128_SHA]}\n", "spec.tls.cipherSuites[0]"},
		{"misspelt field", "kind: FTPSServer\nspec:\n  replica: 2\n", `unknown field "spec.replica"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "bad.yaml")
			m := "apiVersion: ftps.dev/v1alpha1\nmetadata: {name: bad}\n" + tc.manifest
			if err := os.WriteFile(f, []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(kubectl, "--kubeconfig", st.Kubeconfig, "-n", ns, "apply", "-f", f).CombinedOutput()
			if err == nil {
				t.Fatalf("kubectl apply accepted:\n%s\n%s", m, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("kubectl's message does not name %q:\n%s", tc.want, out)
			}
		})
	}
}
