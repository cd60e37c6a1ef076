package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// manifestNamed renames the object of a one-object manifest.
func manifestNamed(m, name string) string {
	return strings.Replace(m, "name: invalid", "name: "+name, 1)
}

// dns turns a test name into an object name.
func dns(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "-", "_", "-").Replace(s))
}

// apply server-side applies a manifest as kubectl apply --server-side does
// and returns the object's resourceVersion afterwards.
func apply(t *testing.T, ns, manifestYAML string) (string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(manifestYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := testenv.ApplyFile(context.Background(), env.Client, ns, f)
	if err != nil {
		return "", err
	}
	return objs[0].GetResourceVersion(), nil
}

// Fields that cannot change safely are refused on update, with a message
// that says why and what to do; fields that can change are accepted.
func TestImmutableFields(t *testing.T) {
	ns := newNamespace(t)
	base := "  storage:\n    storageClassName: fast\n    size: 10Gi\n  service:\n    loadBalancerClass: example.com/lb\n"
	cases := []struct {
		name, spec string
		want       []string // empty: the change is allowed
	}{
		{"storage class changed", strings.Replace(base, "fast", "slow", 1),
			[]string{"spec.storage.storageClassName", "cannot be changed"}},
		{"storage class removed", strings.Replace(base, "    storageClassName: fast\n", "", 1),
			[]string{"spec.storage.storageClassName", "cannot be changed"}},
		{"storage shrunk", strings.Replace(base, "10Gi", "5Gi", 1),
			[]string{"spec.storage.size", "may grow but not shrink"}},
		{"load balancer class changed", strings.Replace(base, "example.com/lb", "example.com/other", 1),
			[]string{"spec.service.loadBalancerClass", "cannot be changed"}},
		{"access modes changed", base[:len("  storage:\n")] + "    accessModes: [ReadWriteMany]\n" + base[len("  storage:\n"):],
			[]string{"spec.storage.accessModes", "cannot be changed"}},
		{"storage grown", strings.Replace(base, "10Gi", "20Gi", 1), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "immutable-" + dns(tc.name)
			if _, err := apply(t, ns, manifestNamed(server(base), name)); err != nil {
				t.Fatalf("creating the original: %v", err)
			}
			_, err := apply(t, ns, manifestNamed(server(tc.spec), name))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("a safe change was refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("the API server accepted the change:\n%s", tc.spec)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want Invalid, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// A GitOps tool applies the same manifest again and again: because every
// default lives in the schema, a second apply changes nothing.
func TestReapplyIsNoOp(t *testing.T) {
	ns := newNamespace(t)
	for _, m := range []string{
		server("  replicas: 2\n  tls: {issuerRef: {name: ca}}\n"),
		policy("  data: {protection: PrivateExceptListings}\n"),
		user(userBase + "  username: carol\n"),
	} {
		m = manifestNamed(m, "reapply")
		first, err := apply(t, ns, m)
		if err != nil {
			t.Fatalf("first apply: %v", err)
		}
		second, err := apply(t, ns, m)
		if err != nil {
			t.Fatalf("second apply: %v", err)
		}
		if first != second {
			t.Errorf("re-applying the same manifest wrote a new version (%s -> %s):\n%s", first, second, m)
		}
	}
}

// The existing claim cannot be added to a server that made its own volumes.
func TestExistingClaimIsImmutable(t *testing.T) {
	ns := newNamespace(t)
	m := manifestNamed(server("  storage: {size: 1Gi}\n"), "claim")
	if _, err := apply(t, ns, m); err != nil {
		t.Fatal(err)
	}
	_, err := apply(t, ns, manifestNamed(server("  storage: {size: 1Gi, existingClaim: data}\n"), "claim"))
	if err == nil || !strings.Contains(err.Error(), "spec.storage.existingClaim") || !strings.Contains(err.Error(), "cannot be changed") {
		t.Fatalf("adding existingClaim: want a refusal naming spec.storage.existingClaim, got %v", err)
	}
}
