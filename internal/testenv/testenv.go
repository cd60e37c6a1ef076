// Package testenv starts a real kube-apiserver and etcd (envtest) with the
// project's CRDs and cert-manager's CRDs installed, for tests.
package testenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// K8sVersion is the version of the control-plane binaries hack/build-envtest.sh
// builds; the Makefile pins the same.
const K8sVersion = "1.37.2"

// Options choose what Start installs.
type Options struct {
	// WithoutCertManager leaves cert-manager's CRDs out, as on a cluster
	// where cert-manager is not installed.
	WithoutCertManager bool
	// APIServerFlags are extra kube-apiserver flags, name (without "--")
	// to value; they replace envtest's defaults of the same name. A
	// benchmark needs, for example, a service-cluster-ip-range larger than
	// envtest's /24 (about 250 ClusterIPs).
	APIServerFlags map[string]string
}

// Env is a running control plane and a client for it.
type Env struct {
	Environment *envtest.Environment
	Config      *rest.Config
	Client      client.Client
	Scheme      *apiruntime.Scheme
}

// Scheme knows the built-in kinds, ours and cert-manager's.
func Scheme() *apiruntime.Scheme {
	s := apiruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(ftpsv1alpha1.AddToScheme(s))
	utilruntime.Must(cmapi.AddToScheme(s))
	return s
}

// RepoRoot is the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CertManagerCRDDir is deploy/crds inside the cert-manager Go module that
// go.mod pins.
func CertManagerCRDDir() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		return "", fmt.Errorf("locating the cert-manager module (go list -m): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("cert-manager CRDs: %w (run 'go mod download')", err)
	}
	return dir, nil
}

// AssetsDirOrDefault is where the control-plane binaries are looked for:
// KUBEBUILDER_ASSETS, else bin/k8s/<version>.
func AssetsDirOrDefault() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(), "bin", "k8s", K8sVersion)
}

// assetsDir is where kube-apiserver and etcd are: KUBEBUILDER_ASSETS (the
// Makefile exports it) or the folder hack/build-envtest.sh fills.
func assetsDir() (string, error) {
	dir := AssetsDirOrDefault()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s: run 'make envtest' (hack/build-envtest.sh) first", bin, dir)
		}
	}
	return dir, nil
}

// Start runs kube-apiserver and etcd with the CRDs installed.
func Start(opts Options) (*Env, error) {
	assets, err := assetsDir()
	if err != nil {
		return nil, err
	}
	crdDirs := []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
	if !opts.WithoutCertManager {
		cm, err := CertManagerCRDDir()
		if err != nil {
			return nil, err
		}
		crdDirs = append(crdDirs, cm)
	}
	scheme := Scheme()
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	if len(opts.APIServerFlags) > 0 {
		args := env.ControlPlane.GetAPIServer().Configure()
		for name, value := range opts.APIServerFlags {
			args.Set(name, value)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return &Env{Environment: env, Config: cfg, Client: c, Scheme: scheme}, nil
}

// Stop ends the control plane.
func (e *Env) Stop() error {
	return e.Environment.Stop()
}

// DataClaim is the PVC the StatefulSet controller would make for replica
// ordinal of srv: no kube-controller-manager runs under envtest.
func DataClaim(srv *ftpsv1alpha1.FTPSServer, ordinal int32) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: srv.Namespace,
			Name:      render.DataClaimName(srv, ordinal),
			Labels:    render.Labels(srv, render.ComponentServer),
		},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// SetLogger sends controller-runtime's log to stderr when FTPS_TEST_LOG is
// set, and nowhere otherwise: the reconcilers log a lot.
func SetLogger() {
	w := io.Discard
	if os.Getenv("FTPS_TEST_LOG") != "" {
		w = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(w), zap.UseDevMode(true)))
}
