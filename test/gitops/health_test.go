// Package gitops checks that GitOps tools read the health of FTPS objects
// the way docs/gitops.md says: Argo CD through the Lua health checks of
// config/argocd, Flux through kstatus (the library its health checks use).
package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// server is an FTPSServer at generation 2 whose status describes observed.
func server(t *testing.T, observed int64, conds ...metav1.Condition) *unstructured.Unstructured {
	t.Helper()
	s := &v1alpha1.FTPSServer{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "FTPSServer"},
		ObjectMeta: metav1.ObjectMeta{Name: "exchange", Namespace: "ftps", Generation: 2},
	}
	s.Status.ObservedGeneration, s.Status.Conditions = observed, stamped(observed, conds)
	return toUnstructured(t, s)
}

func user(t *testing.T, observed int64, conds ...metav1.Condition) *unstructured.Unstructured {
	t.Helper()
	u := &v1alpha1.FTPSUser{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "FTPSUser"},
		ObjectMeta: metav1.ObjectMeta{Name: "alice", Namespace: "ftps", Generation: 2},
	}
	u.Status.ObservedGeneration, u.Status.Conditions = observed, stamped(observed, conds)
	return toUnstructured(t, u)
}

// stamped is conds as the operator writes them for generation observed
// (none when observed is 0: never reconciled).
func stamped(observed int64, conds []metav1.Condition) []metav1.Condition {
	if observed == 0 {
		return nil
	}
	out := make([]metav1.Condition, len(conds))
	for i, c := range conds {
		c.ObservedGeneration, c.LastTransitionTime = observed, metav1.Now()
		out[i] = c
	}
	return out
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func cond(typ string, st metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: st, Reason: reason, Message: msg}
}

var (
	ready        = cond(v1alpha1.ConditionReady, metav1.ConditionTrue, "Ready", "serving on 203.0.113.10:21")
	certPending  = cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "CertificateNotReady", "waiting for cert-manager")
	notDegraded  = cond(v1alpha1.ConditionDegraded, metav1.ConditionFalse, "AsExpected", "")
	degraded     = cond(v1alpha1.ConditionDegraded, metav1.ConditionTrue, "PolicyNotFound", "FTPSPolicy partners not found")
	userReady    = cond(v1alpha1.ConditionReady, metav1.ConditionTrue, "Ready", "in the users file")
	userNoSecret = cond(v1alpha1.ConditionReady, metav1.ConditionFalse, "PasswordSecretNotFound", "Secret alice-password not found")
)

// TestArgoCDHealth runs the Lua health checks of config/argocd/argocd-cm.yaml
// as Argo CD does: the object as the global obj, the returned table's status.
func TestArgoCDHealth(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "argocd", "argocd-cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"FTPSServer": cm.Data["resource.customizations.health.ftps.dev_FTPSServer"],
		"FTPSUser":   cm.Data["resource.customizations.health.ftps.dev_FTPSUser"],
	}
	for kind, s := range scripts {
		if s == "" {
			t.Fatalf("argocd-cm.yaml has no health check for %s", kind)
		}
	}
	for _, c := range []struct {
		name string
		obj  *unstructured.Unstructured
		want string
	}{
		{"server never reconciled", server(t, 0), "Progressing"},
		{"server ready", server(t, 2, ready, notDegraded), "Healthy"},
		{"server ready for an older generation", server(t, 1, ready, notDegraded), "Progressing"},
		{"server waiting for its certificate", server(t, 2, certPending, notDegraded), "Progressing"},
		{"server degraded", server(t, 2, certPending, degraded), "Degraded"},
		{"user never reconciled", user(t, 0), "Progressing"},
		{"user ready", user(t, 2, userReady), "Healthy"},
		{"user without its Secret", user(t, 2, userNoSecret), "Degraded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, msg := runHealth(t, scripts[c.obj.GetKind()], c.obj.Object)
			if got != c.want {
				t.Errorf("health %q (%s), want %q", got, msg, c.want)
			}
			if msg == "" {
				t.Error("no message")
			}
		})
	}
}

// runHealth evaluates an Argo CD health script.
func runHealth(t *testing.T, script string, obj map[string]any) (string, string) {
	t.Helper()
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("lua: %v", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message"))
}

// toLua converts JSON-like Go values as Argo CD's Lua VM sees them.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case map[string]any:
		tb := L.NewTable()
		for k, e := range x {
			tb.RawSetString(k, toLua(L, e))
		}
		return tb
	case []any:
		tb := L.NewTable()
		for _, e := range x {
			tb.Append(toLua(L, e))
		}
		return tb
	default:
		panic(fmt.Sprintf("toLua: %T", v))
	}
}

// TestFluxHealth computes kstatus, which Flux's kustomize-controller and
// helm-controller use for health checks (wait: true / healthChecks).
func TestFluxHealth(t *testing.T) {
	for _, c := range []struct {
		name string
		obj  *unstructured.Unstructured
		want status.Status
	}{
		{"server ready", server(t, 2, ready, notDegraded), status.CurrentStatus},
		{"server ready for an older generation", server(t, 1, ready, notDegraded), status.InProgressStatus},
		{"server waiting for its certificate", server(t, 2, certPending, notDegraded), status.InProgressStatus},
		{"user ready", user(t, 2, userReady), status.CurrentStatus},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := status.Compute(c.obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.want {
				t.Errorf("kstatus %s (%s), want %s", res.Status, res.Message, c.want)
			}
		})
	}
}
