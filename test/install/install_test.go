// Package install checks the installer a user applies to a real cluster,
// dist/install.yaml, against a real API server.
package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
	"github.com/ftps-operator/ftps-operator/test/stack"
)

// helmVersion is the Makefile's HELM_VERSION.
const helmVersion = "v3.22.0"

const (
	managerImage = "registry.example.com:5000/platform/ftps-operator:v9.9.9"
	ftpsdImage   = "registry.example.com:5000/platform/ftpsd:v9.9.9"
)

// TestInstaller builds the installer as `make build-installer` does, checks
// what it holds, and has the API server accept every object of it
// (kubectl apply --server-side --dry-run=server).
func TestInstaller(t *testing.T) {
	kubectl := filepath.Join(testenv.AssetsDirOrDefault(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("%v: run 'make envtest' first", err)
	}
	dist := t.TempDir()
	build := exec.Command("hack/build-installer.sh")
	build.Dir = testenv.RepoRoot()
	build.Env = append(os.Environ(), "IMG="+managerImage, "FTPSD_IMG="+ftpsdImage, "KUBECTL="+kubectl, "DIST="+dist)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/build-installer.sh: %v\n%s", err, out)
	}
	manifest := filepath.Join(dist, "install.yaml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := testenv.DecodeManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]string{}
	var deploy appsv1.Deployment
	for _, o := range objs {
		kinds[o.GetKind()] = append(kinds[o.GetKind()], o.GetName())
		if o.GetKind() == "Deployment" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &deploy); err != nil {
				t.Fatal(err)
			}
		}
		if ns := o.GetNamespace(); ns != "" && ns != "ftps-operator-system" {
			t.Errorf("%s %s in namespace %q, want ftps-operator-system", o.GetKind(), o.GetName(), ns)
		}
	}
	for kind, n := range map[string]int{"Namespace": 1, "CustomResourceDefinition": 3, "ServiceAccount": 1,
		"Deployment": 1, "Service": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1} {
		if len(kinds[kind]) < n {
			t.Errorf("%d %s objects (%v), want at least %d", len(kinds[kind]), kind, kinds[kind], n)
		}
	}
	checkCRDsMatch(t, objs)
	checkManager(t, deploy)

	out := dryRunApply(t, kubectl, "ftps-operator-system", manifest)
	for _, o := range objs {
		if !strings.Contains(out, o.GetName()) {
			t.Errorf("kubectl did not report %s %s:\n%s", o.GetKind(), o.GetName(), out)
		}
	}
}

// checkCRDsMatch: the installer's CRDs are config/crd/bases' own.
func checkCRDsMatch(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	bases, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{}
	for _, f := range bases {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crds, err := testenv.DecodeManifests(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range crds {
			want[c.GetName()] = c.Object["spec"].(map[string]any)
		}
	}
	got := 0
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		got++
		w, ok := want[o.GetName()]
		if !ok {
			t.Errorf("CRD %s is not in config/crd/bases", o.GetName())
			continue
		}
		if !reflect.DeepEqual(o.Object["spec"], w) {
			t.Errorf("CRD %s differs from config/crd/bases", o.GetName())
		}
	}
	if got != len(want) {
		t.Errorf("%d CRDs in the installer, %d in config/crd/bases", got, len(want))
	}
}

// checkManager: the images asked for, leader election, the ports, and a pod
// that the "restricted" Pod Security profile admits.
func checkManager(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("manager Deployment has %d containers", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != managerImage {
		t.Errorf("manager image %q, want %q", c.Image, managerImage)
	}
	for _, arg := range []string{"--leader-elect", "--ftpsd-image=" + ftpsdImage} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("manager args %q lack %s", c.Args, arg)
		}
	}
	checkRestricted(t, d)
}

// checkRestricted: the "restricted" Pod Security profile admits the pod.
func checkRestricted(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	res := psapolicy.AggregateCheckResults(eval.EvaluatePod(lv, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec))
	if !res.Allowed {
		t.Errorf("restricted profile refuses the manager pod: %s: %s", res.ForbiddenReason(), res.ForbiddenDetail())
	}
}

// helmBinary is the pinned helm that `make helm` builds.
func helmBinary(t *testing.T) string {
	t.Helper()
	h := os.Getenv("HELM")
	if h == "" {
		h = filepath.Join(testenv.RepoRoot(), "bin", "helm-"+helmVersion)
	}
	if _, err := os.Stat(h); err != nil {
		t.Fatalf("%v: run 'make helm' first", err)
	}
	return h
}

const chartDir = "charts/ftps-operator"

func helm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Dir = testenv.RepoRoot()
	// No repositories, no cache outside the test.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

// TestChart lints the chart, renders it with its defaults and with the
// options users set, checks that its CRDs are config/crd's, and has the API
// server accept the rendered objects.
func TestChart(t *testing.T) {
	helm(t, "lint", "--strict", chartDir)

	render := func(args ...string) []*unstructured.Unstructured {
		t.Helper()
		out := helm(t, append([]string{"template", "ftps", chartDir, "--namespace", "ftps-system", "--kube-version", testenv.K8sVersion}, args...)...)
		objs, err := testenv.DecodeManifests([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	byKind := func(objs []*unstructured.Unstructured) map[string][]*unstructured.Unstructured {
		m := map[string][]*unstructured.Unstructured{}
		for _, o := range objs {
			m[o.GetKind()] = append(m[o.GetKind()], o)
		}
		return m
	}

	defaults := render()
	checkCRDsMatch(t, defaults)
	k := byKind(defaults)
	if len(k["Deployment"]) != 1 || len(k["ClusterRole"]) != 3 || len(k["Service"]) != 1 || len(k["ServiceMonitor"]) != 0 {
		t.Errorf("default render: %d Deployments, %d ClusterRoles (manager, editor, viewer), %d Services, %d ServiceMonitors",
			len(k["Deployment"]), len(k["ClusterRole"]), len(k["Service"]), len(k["ServiceMonitor"]))
	}
	var deploy appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(k["Deployment"][0].Object, &deploy); err != nil {
		t.Fatal(err)
	}
	appVersion := chartAppVersion(t)
	c := deploy.Spec.Template.Spec.Containers[0]
	if want := "ghcr.io/ftps-operator/ftps-operator:" + appVersion; c.Image != want {
		t.Errorf("manager image %q, want %q (the chart's appVersion)", c.Image, want)
	}
	if want := "--ftpsd-image=ghcr.io/ftps-operator/ftpsd:" + appVersion; !slices.Contains(c.Args, want) {
		t.Errorf("args %q lack %s", c.Args, want)
	}
	for _, want := range []string{"--leader-elect=true", "--max-concurrent-reconciles=4"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("default args %q lack %s", c.Args, want)
		}
	}
	checkRestricted(t, deploy)

	// The options of values.yaml.
	custom := byKind(render("--set", "crds.install=false", "--set", "metrics.serviceMonitor.enabled=true",
		"--set", "watchNamespaces={team-a,team-b}", "--set", "leaderElection.enabled=false",
		"--set", "image.repository=registry.example.com/op", "--set", "image.tag=v2", "--set", "ftpsdImage.tag=v2"))
	if n := len(custom["CustomResourceDefinition"]); n != 0 {
		t.Errorf("crds.install=false still renders %d CRDs", n)
	}
	if n := len(custom["ServiceMonitor"]); n != 1 {
		t.Errorf("serviceMonitor.enabled renders %d ServiceMonitors", n)
	}
	roles := map[string]bool{}
	for _, r := range custom["Role"] {
		roles[r.GetNamespace()] = true
	}
	if !roles["team-a"] || !roles["team-b"] || len(custom["Role"]) != 2 {
		t.Errorf("watchNamespaces: Roles in %v, want the manager's Role in team-a and team-b (and no leader-election Role)", roles)
	}
	for _, cr := range custom["ClusterRole"] {
		if strings.HasSuffix(cr.GetName(), "-manager") {
			t.Errorf("watchNamespaces still grants the cluster-wide ClusterRole %s", cr.GetName())
		}
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(custom["Deployment"][0].Object, &deploy); err != nil {
		t.Fatal(err)
	}
	c = deploy.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--watch-namespaces=team-a,team-b", "--leader-elect=false", "--ftpsd-image=ghcr.io/ftps-operator/ftpsd:v2"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if c.Image != "registry.example.com/op:v2" {
		t.Errorf("image %q", c.Image)
	}

	// The API server accepts the default render (ServiceMonitor's CRD is not
	// installed here, so the custom render is checked above only).
	manifest := filepath.Join(t.TempDir(), "chart.yaml")
	out := helm(t, "template", "ftps", chartDir, "--namespace", "ftps-system", "--kube-version", testenv.K8sVersion)
	if err := os.WriteFile(manifest, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	dryRunApply(t, filepath.Join(testenv.AssetsDirOrDefault(), "kubectl"), "ftps-system", manifest)
}

// dryRunApply starts a real API server and has it check every object of
// manifest with kubectl apply --server-side --dry-run=server, the namespace
// created first (as it exists after the first real apply). It returns
// kubectl's output.
func dryRunApply(t *testing.T, kubectl, namespace, manifest string) string {
	t.Helper()
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := stack.Kubeconfig(env, "installer", kubeconfig); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, args := range [][]string{
		{"create", "namespace", namespace},
		{"apply", "--server-side", "--dry-run=server", "--field-manager=installer", "-n", namespace, "-f", manifest},
	} {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if out, err = cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s refused %s: %v\n%s", args[0], filepath.Base(manifest), err, out)
		}
	}
	return string(out)
}

func chartAppVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("Chart.yaml has no appVersion")
	return ""
}
