package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./internal/render -update' to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file; run 'go test ./internal/render -update' if the change is intended.\n%s", name, lineDiff(string(want), string(got)))
	}
}

func toYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleServer is config/samples' exchange server, defaulted as the API
// server would.
func sampleServer() *v1alpha1.FTPSServer {
	return &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Name: "exchange", Namespace: "ftps", UID: "uid-1", Generation: 1},
		Spec: v1alpha1.FTPSServerSpec{
			Replicas: new(int32(2)),
			TLS: v1alpha1.ServerTLS{
				IssuerRef:   &v1alpha1.IssuerReference{Name: "ftps-ca", Kind: "Issuer", Group: "cert-manager.io"},
				DNSNames:    []string{"ftps.example.com"},
				Duration:    &metav1.Duration{Duration: 2160 * 3600e9},
				RenewBefore: &metav1.Duration{Duration: 720 * 3600e9},
				PrivateKey:  v1alpha1.PrivateKey{Algorithm: v1alpha1.KeyAlgorithmECDSA},
			},
			PolicyRef: &v1alpha1.LocalObjectReference{Name: "partners"},
			Ports:     v1alpha1.ServerPorts{Control: 21, Implicit: 990},
			Service: v1alpha1.ServiceSpec{
				Type:                  v1alpha1.ServiceTypeLoadBalancer,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			},
			Passive: v1alpha1.PassiveSpec{Mode: v1alpha1.PassiveModePerReplica, PortRangeStart: 30000, PortsPerReplica: 16},
			Storage: v1alpha1.StorageSpec{
				Size:          resource.MustParse("10Gi"),
				AccessModes:   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				ReclaimPolicy: v1alpha1.ReclaimRetain,
			},
			Limits: v1alpha1.Limits{MaxSessions: 1000, MaxSessionsPerIP: 20, MaxLoginFailures: 5},
		},
	}
}

func TestNamesAndRanges(t *testing.T) {
	srv := sampleServer()
	for _, tc := range []struct {
		ordinal     int32
		first, last int32
	}{{0, 30000, 30015}, {1, 30016, 30031}, {5, 30080, 30095}} {
		first, last := ReplicaPortRange(srv, tc.ordinal)
		if first != tc.first || last != tc.last {
			t.Errorf("replica %d: got %d-%d, want %d-%d", tc.ordinal, first, last, tc.first, tc.last)
		}
	}
	if first, last := WholePortRange(srv); first != 30000 || last != 30031 {
		t.Errorf("whole range %d-%d", first, last)
	}
	srv.Spec.Replicas = new(int32(0))
	if first, last := WholePortRange(srv); first != 30000 || last != 30015 {
		t.Errorf("whole range with 0 replicas %d-%d, want one slice", first, last)
	}
	srv.Spec.Passive.Mode = v1alpha1.PassiveModeShared
	srv.Spec.Replicas = new(int32(3))
	if first, last := ReplicaPortRange(srv, 2); first != 30000 || last != 30047 {
		t.Errorf("shared replica range %d-%d, want the whole range", first, last)
	}
	if got := PassiveServiceName(srv, 3); got != "exchange-pasv-3" {
		t.Errorf("PassiveServiceName = %q", got)
	}
	if got := TLSSecretName(srv); got != "exchange-tls" {
		t.Errorf("TLSSecretName = %q", got)
	}
	srv.Spec.TLS.SecretName = "mine"
	if got := TLSSecretName(srv); got != "mine" {
		t.Errorf("TLSSecretName with secretName = %q", got)
	}
}

func TestLabelsUserCannotOverrideSelector(t *testing.T) {
	srv := sampleServer()
	srv.Spec.Pod.Labels = map[string]string{LabelInstance: "evil", "team": "a"}
	sts := StatefulSet(srv, "img", "h")
	l := sts.Spec.Template.Labels
	if l[LabelInstance] != "exchange" || l["team"] != "a" {
		t.Errorf("pod labels %v", l)
	}
}

func TestDNSNamesDefault(t *testing.T) {
	srv := sampleServer()
	srv.Spec.TLS.DNSNames = nil
	want := []string{"exchange", "exchange.ftps", "exchange.ftps.svc", "exchange.ftps.svc.cluster.local"}
	if got := DNSNames(srv); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	pdb := PodDisruptionBudget(sampleServer())
	if pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[LabelInstance] != "exchange" {
		t.Errorf("pdb %+v", pdb.Spec)
	}
}

func TestCertificate(t *testing.T) {
	srv := sampleServer()
	srv.Spec.TLS.PrivateKey = v1alpha1.PrivateKey{Algorithm: v1alpha1.KeyAlgorithmRSA, Size: 3072}
	c := Certificate(srv)
	if c.Spec.SecretName != "exchange-tls" || c.Spec.IssuerRef.Name != "ftps-ca" || c.Spec.IssuerRef.Kind != "Issuer" {
		t.Errorf("spec %+v", c.Spec)
	}
	if c.Spec.PrivateKey.Algorithm != "RSA" || c.Spec.PrivateKey.Size != 3072 {
		t.Errorf("private key %+v", c.Spec.PrivateKey)
	}
	if !slices.Contains(c.Spec.Usages, "key encipherment") {
		t.Errorf("RSA usages %v", c.Spec.Usages)
	}
	if u := Certificate(sampleServer()).Spec.Usages; slices.Contains(u, "key encipherment") {
		t.Errorf("ECDSA usages %v", u)
	}
	if c.Spec.Duration.Duration.Hours() != 2160 || c.Spec.RenewBefore.Duration.Hours() != 720 {
		t.Errorf("duration %v renewBefore %v", c.Spec.Duration, c.Spec.RenewBefore)
	}
	if !slices.Equal(c.Spec.DNSNames, []string{"ftps.example.com"}) {
		t.Errorf("dnsNames %v", c.Spec.DNSNames)
	}
	srv.Spec.TLS.RenewBefore = nil
	if got := Certificate(srv).Spec.RenewBefore.Duration.Hours(); got != 720 {
		t.Errorf("default renewBefore %vh, want a third of 2160h", got)
	}
}

func TestGoldenNamesAreStable(t *testing.T) {
	// A guard against renaming a child by accident: the names are an API.
	srv := sampleServer()
	got := strings.Join([]string{ConfigMapName(srv), UsersSecretName(srv), OperatorTLSSecretName(srv), SharedPassiveServiceName(srv), DataClaimName(srv, 1)}, ",")
	if got != "exchange-config,exchange-users,exchange-tls,exchange-pasv,data-exchange-1" {
		t.Error(got)
	}
}

// lineDiff names the first line where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, a, b)
		}
	}
	return ""
}
