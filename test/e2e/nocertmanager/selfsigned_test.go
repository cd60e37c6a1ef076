package nocertmanager

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/test/clients"
)

const password = "s3cret-enough-for-tests"

// apply writes a manifest and applies it into ns.
func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyFile(context.Background(), ns, f); err != nil {
		t.Fatal(err)
	}
}

// userAndServer is a user bob and a one-replica server named name with tls.
func userAndServer(name, tls string) string {
	return `
apiVersion: v1
kind: Secret
metadata: {name: bob-password}
stringData: {password: ` + password + `}
---
apiVersion: ftps.dev/v1alpha1
kind: FTPSUser
metadata: {name: bob}
spec:
  serverRef: {name: ` + name + `}
  username: bob
  passwordSecretRef: {name: bob-password}
  permissions: [List, Read, Write]
---
apiVersion: ftps.dev/v1alpha1
kind: FTPSServer
metadata: {name: ` + name + `}
spec:
  replicas: 1
  tls: ` + tls + `
`
}

// transfer uploads and downloads a file in one session, verifying the
// server's certificate against caFile for serverName.
func transfer(t *testing.T, srv *ftpsv1alpha1.FTPSServer, serverName, caFile string) {
	t.Helper()
	c, _ := clients.Open(t, srv.Status.Endpoint, serverName, caFile)
	if code := clients.LoginCode(c, "bob", password); code != 230 {
		t.Fatalf("login: %d", code)
	}
	payload := make([]byte, 256<<10)
	_, _ = rand.Read(payload)
	clients.RoundTrip(c, "payload.bin", payload)
}

// The self-signed default: the operator makes the certificate, and a
// client that trusts it verifies the chain and the Service's DNS name.
func TestSelfSignedServesFTPS(t *testing.T) {
	ns := st.NewNamespace(t)
	apply(t, ns, userAndServer("plain", "{}"))
	srv := st.WaitServerReady(t, ns, "plain", 3*time.Minute)
	tlsSecret := &corev1.Secret{}
	if err := st.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "plain-tls"}, tlsSecret); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, tlsSecret.Data["tls.crt"], 0o600); err != nil {
		t.Fatal(err)
	}
	transfer(t, srv, "plain."+ns+".svc", caFile)
}

// A brought kubernetes.io/tls Secret is what the pods serve.
func TestBroughtSecretServesFTPS(t *testing.T) {
	ns := st.NewNamespace(t)
	caPEM, certPEM, keyPEM := makeChain(t, "files.example.org")
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "brought-tls", Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM},
	}
	if err := st.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	apply(t, ns, userAndServer("brought", "{secretName: brought-tls}"))
	srv := st.WaitServerReady(t, ns, "brought", 3*time.Minute)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	transfer(t, srv, "files.example.org", caFile)
}

// A server that names a cert-manager issuer on a cluster without
// cert-manager says so in its status, and the operator keeps running.
func TestIssuerWithoutCertManager(t *testing.T) {
	ns := st.NewNamespace(t)
	apply(t, ns, userAndServer("issued", "{issuerRef: {name: ca}}"))
	ftptest.Eventually(t, time.Minute, 500*time.Millisecond, "CertificateReady=False CertManagerNotInstalled", func() error {
		srv := &ftpsv1alpha1.FTPSServer{}
		if err := st.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "issued"}, srv); err != nil {
			return err
		}
		c := meta.FindStatusCondition(srv.Status.Conditions, ftpsv1alpha1.ConditionCertificateReady)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "CertManagerNotInstalled" {
			return fmt.Errorf("CertificateReady %+v", c)
		}
		if c.Message == "" {
			t.Fatal("CertManagerNotInstalled without a message")
		}
		t.Logf("CertificateReady: %s: %s", c.Reason, c.Message)
		return nil
	})
}

// makeChain makes a CA and a server certificate for name, in PEM.
func makeChain(t *testing.T, name string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	ca := ftptest.NewCA(t)
	c := ca.Issue(t, ftptest.CertOptions{CommonName: name, Hosts: []string{name, "127.0.0.1"}})
	return ca.CertPEM, c.CertPEM, c.KeyPEM
}
