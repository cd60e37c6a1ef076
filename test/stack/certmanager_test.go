package stack

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// One control plane and one cert-manager for the whole binary (see
// CertManager on why only one).
var (
	cmEnv       *testenv.Env
	certManager *CertManager
)

const cmTestTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runCertManagerTests(m))
}

func runCertManagerTests(m *testing.M) int {
	// client-go and the event broadcasters log through klog's globals, not
	// through the logger StartCertManager gives cert-manager: keep them off
	// stderr unless -v asked for them.
	if !testing.Verbose() {
		quietKlog()
	}
	var err error
	cmEnv, err = testenv.Start(testenv.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() {
		if err := cmEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	dir, err := os.MkdirTemp("", "stack-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfig := filepath.Join(dir, "cert-manager.kubeconfig")
	if err := Kubeconfig(cmEnv, "cert-manager", kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmTestTimeout)
	defer cancel()
	start := time.Now()
	certManager, err = StartCertManager(ctx, kubeconfig, CertManagerOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting cert-manager:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("cert-manager started in %s\n", time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	start = time.Now()
	certManager.Stop()
	if testing.Verbose() {
		fmt.Printf("cert-manager stopped in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if err := certManager.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// cmTestCtx is bounded by cmTestTimeout and prints cert-manager's recent logs
// when the test fails.
func cmTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmTestTimeout)
	t.Cleanup(cancel)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cert-manager's last log lines:\n%s", certManager.Logs())
		}
	})
	return ctx
}

var cmNamespaces atomic.Int32

func newCMNamespace(ctx context.Context, t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("stack-%d-%d", os.Getpid()%10000, cmNamespaces.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cmEnv.Client.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return name
}

// applyCASample applies config/samples/cert-manager_ca_issuer.yaml into a new
// namespace and waits for its CA Certificate and CA Issuer to be Ready.
func applyCASample(ctx context.Context, t *testing.T) string {
	t.Helper()
	ns := newCMNamespace(ctx, t)
	path := filepath.Join(testenv.RepoRoot(), "config", "samples", "cert-manager_ca_issuer.yaml")
	if _, err := testenv.ApplyFile(ctx, cmEnv.Client, ns, path); err != nil {
		t.Fatalf("applying the sample: %v", err)
	}
	if err := WaitReady(ctx, cmEnv.Client, ns, "ftps-ca"); err != nil {
		t.Fatal(err)
	}
	if err := WaitIssuerReady(ctx, cmEnv.Client, ns, "ftps-ca"); err != nil {
		t.Fatal(err)
	}
	return ns
}

func cmSecretData(ctx context.Context, t *testing.T, ns, name string) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	if err := cmEnv.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("getting Secret %s: %v", name, err)
	}
	return s.Data
}

func parsePEMCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("parsing a certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatal("no certificate in PEM data")
	}
	return certs
}

func createLeafCertificate(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName:  name + "-tls",
			DNSNames:    []string{"ftps.example.com"},
			IPAddresses: []string{"127.0.0.1"},
			// ECDSA: generating an RSA key under -race takes seconds.
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Name: "ftps-ca", Kind: "Issuer", Group: "cert-manager.io"},
		},
	}
	if err := cmEnv.Client.Create(ctx, crt); err != nil {
		t.Fatalf("creating Certificate %s: %v", name, err)
	}
}

// TestCAIssuerSample: the sample's self-signed CA Certificate is issued into
// a complete Secret and its CA Issuer becomes Ready.
func TestCAIssuerSample(t *testing.T) {
	t.Parallel()
	ctx := cmTestCtx(t)
	ns := applyCASample(ctx, t)

	data := cmSecretData(ctx, t, ns, "ftps-ca")
	for _, key := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if len(data[key]) == 0 {
			t.Errorf("Secret ftps-ca has no %s", key)
		}
	}
	ca := parsePEMCerts(t, data["tls.crt"])[0]
	if !ca.IsCA || ca.Subject.CommonName != "ftps-operator sample CA" {
		t.Errorf("CA certificate: IsCA=%v CN=%q", ca.IsCA, ca.Subject.CommonName)
	}
}

// TestLeafCertificateVerifiesAgainstCA: a Certificate the CA Issuer signs
// verifies, for its DNS name and IP address, against the CA's ca.crt.
func TestLeafCertificateVerifiesAgainstCA(t *testing.T) {
	t.Parallel()
	ctx := cmTestCtx(t)
	ns := applyCASample(ctx, t)
	createLeafCertificate(ctx, t, ns, "ftps")
	if err := WaitReady(ctx, cmEnv.Client, ns, "ftps"); err != nil {
		t.Fatal(err)
	}

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cmSecretData(ctx, t, ns, "ftps-ca")["ca.crt"]) {
		t.Fatal("the CA Secret's ca.crt holds no certificate")
	}
	leafData := cmSecretData(ctx, t, ns, "ftps-tls")
	if len(leafData["tls.key"]) == 0 {
		t.Error("leaf Secret has no tls.key")
	}
	chain := parsePEMCerts(t, leafData["tls.crt"])
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	for _, host := range []string{"ftps.example.com", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{
			DNSName:       host,
			Roots:         roots,
			Intermediates: inter,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			t.Errorf("verifying the leaf for %s: %v", host, err)
		}
	}
	if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("leaf IP addresses %v, want [127.0.0.1]", leaf.IPAddresses)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: roots, Intermediates: inter}); err == nil {
		t.Error("the leaf verified for a name it does not hold")
	}
}

// TestRenew: Renew reissues the certificate, with a new serial number in the
// Secret and a higher status.revision.
func TestRenew(t *testing.T) {
	t.Parallel()
	ctx := cmTestCtx(t)
	ns := applyCASample(ctx, t)
	createLeafCertificate(ctx, t, ns, "ftps")

	before, err := WaitSettled(ctx, cmEnv.Client, ns, "ftps")
	if err != nil {
		t.Fatal(err)
	}
	oldSerial := parsePEMCerts(t, cmSecretData(ctx, t, ns, "ftps-tls")["tls.crt"])[0].SerialNumber

	if err := Renew(ctx, cmEnv.Client, ns, "ftps"); err != nil {
		t.Fatal(err)
	}
	after, err := WaitRenewed(ctx, cmEnv.Client, ns, "ftps", *before.Status.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if *after.Status.Revision != *before.Status.Revision+1 {
		t.Errorf("revision %d -> %d, want +1", *before.Status.Revision, *after.Status.Revision)
	}
	newSerial := parsePEMCerts(t, cmSecretData(ctx, t, ns, "ftps-tls")["tls.crt"])[0].SerialNumber
	if newSerial.Cmp(oldSerial) == 0 {
		t.Errorf("serial number unchanged after renewal: %s", newSerial)
	}
	if err := WaitReady(ctx, cmEnv.Client, ns, "ftps"); err != nil {
		t.Error(err)
	}
}

// TestWaitsAreBounded: waiting on a Certificate that never exists ends with
// the context, and says what it saw.
func TestWaitsAreBounded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := WaitReady(ctx, cmEnv.Client, "default", "does-not-exist")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("WaitReady took %s with a 500ms context", d)
	}
	if err := Renew(ctx, cmEnv.Client, "default", "does-not-exist"); err == nil {
		t.Error("Renew of a missing Certificate succeeded")
	}
}

// TestOnePerProcess: a second StartCertManager is refused.
func TestOnePerProcess(t *testing.T) {
	t.Parallel()
	if _, err := StartCertManager(t.Context(), "unused", CertManagerOptions{}); err == nil {
		t.Fatal("a second cert-manager started")
	}
}
