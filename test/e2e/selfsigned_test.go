package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := st.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// waitReady waits until the server's Ready condition is True for its
// current generation.
func waitReady(t *testing.T, ns, name string, timeout time.Duration) *ftpsv1alpha1.FTPSServer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	srv := &ftpsv1alpha1.FTPSServer{}
	for time.Now().Before(deadline) {
		if err := st.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, srv); err == nil {
			c := meta.FindStatusCondition(srv.Status.Conditions, ftpsv1alpha1.ConditionReady)
			if c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == srv.Generation {
				return srv
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("FTPSServer %s/%s not Ready after %s; conditions: %+v", ns, name, timeout, srv.Status.Conditions)
	return nil
}

// A server with the operator's self-signed certificate becomes Ready and
// serves FTPS through its control Service's address.
func TestSelfSignedServerServesFTPS(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	pw := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bob-password", Namespace: ns}, StringData: map[string]string{"password": "s3cret-enough-for-tests"}}
	if err := st.Client.Create(ctx, pw); err != nil {
		t.Fatal(err)
	}
	m := `
apiVersion: ftps.dev/v1alpha1
kind: FTPSUser
metadata: {name: bob}
spec:
  serverRef: {name: plain}
  username: bob
  passwordSecretRef: {name: bob-password}
  permissions: [List, Read, Write]
---
apiVersion: ftps.dev/v1alpha1
kind: FTPSServer
metadata: {name: plain}
spec:
  replicas: 1
  ports: {control: 2121}
`
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := applyFile(ctx, ns, f); err != nil {
		t.Fatal(err)
	}
	srv := waitReady(t, ns, "plain", 3*time.Minute)
	t.Logf("endpoint %s", srv.Status.Endpoint)

	up := filepath.Join(t.TempDir(), "up.txt")
	if err := os.WriteFile(up, []byte("hello over FTPS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("curl", "-sS", "--max-time", "30", "--ssl-reqd", "-k", "--disable-epsv", "--no-ftp-skip-pasv-ip",
		"-u", "bob:s3cret-enough-for-tests", "-T", up, "ftp://"+srv.Status.Endpoint+"/hello.txt").CombinedOutput()
	if err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	out, err = exec.Command("curl", "-sS", "--max-time", "30", "--ssl-reqd", "-k", "--disable-epsv", "--no-ftp-skip-pasv-ip",
		"-u", "bob:s3cret-enough-for-tests", "ftp://"+srv.Status.Endpoint+"/hello.txt").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello over FTPS") {
		t.Fatalf("curl download: %v\n%s", err, out)
	}
}
