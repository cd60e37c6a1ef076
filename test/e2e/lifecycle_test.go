package e2e

import (
	"context"
	"crypto/rand"
	"net"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/test/clients"
	"github.com/ftps-operator/ftps-operator/test/stack"
)

// The lifecycle tests poll logins that are meant to fail for a while; a
// higher failure limit keeps their client address from being banned.
const manyFailures = "maxSessionsPerIP: 20\n    maxLoginFailures: 1000"

// podsOf records the server's Pods and their restart counts.
func podsOf(t *testing.T, ns string) map[string]string {
	t.Helper()
	var pods corev1.PodList
	if err := st.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "exchange"}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		var restarts int32
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
		out[p.Name] = string(p.UID) + "/" + strconv.Itoa(int(restarts))
	}
	if len(out) == 0 {
		t.Fatalf("no pods in %s", ns)
	}
	return out
}

func assertNoRestart(t *testing.T, ns string, before map[string]string) {
	t.Helper()
	after := podsOf(t, ns)
	for name, v := range before {
		if after[name] != v {
			t.Errorf("pod %s was replaced or restarted: %s -> %s (uid/restarts)", name, v, after[name])
		}
	}
}

// twice holds when cond holds for two sessions in a row: the control
// Service alternates between the two replicas.
func twice(cond func() bool) bool {
	for range 2 {
		if !cond() {
			return false
		}
	}
	return true
}

// loginCode opens a new session to addr and returns the PASS reply.
func loginCode(t *testing.T, addr, caFile, user, password string) int {
	t.Helper()
	c, _ := clients.Open(t, addr, sampleHost, caFile)
	defer c.Raw.Close()
	return clients.LoginCode(c, user, password)
}

// Scenario 3: a forced renewal reaches new handshakes within seconds while
// a session opened before it keeps transferring; no Pod restarts.
func TestCertificateRotation(t *testing.T) {
	ctx := context.Background()
	ns, srv, host, port, caFile := applySamples(t)
	addr := net.JoinHostPort(host, port)
	before := podsOf(t, ns)

	old, firstSerial := clients.Open(t, addr, sampleHost, caFile)
	if code := clients.LoginCode(old, sampleUser, samplePassword); code != 230 {
		t.Fatalf("login: %d", code)
	}

	settled, err := stack.WaitSettled(ctx, st.Client, ns, srv.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.Renew(ctx, st.Client, ns, srv.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.WaitRenewed(ctx, st.Client, ns, srv.Name, *settled.Status.Revision); err != nil {
		t.Fatal(err)
	}
	renewedAt := time.Now()
	var newSerial string
	ftptest.Eventually(t, 30*time.Second, 250*time.Millisecond, "a new handshake presents the renewed certificate", ftptest.Holds(func() bool {
		var c *ftptest.Client
		c, newSerial = clients.Open(t, addr, sampleHost, caFile)
		_ = c.Raw.Close()
		return newSerial != firstSerial
	}))
	t.Logf("renewed certificate served %s after the Secret changed (serial %s -> %s)", time.Since(renewedAt).Round(100*time.Millisecond), firstSerial, newSerial)

	payload := make([]byte, 512<<10)
	_, _ = rand.Read(payload)
	// The session opened before the renewal still transfers.
	clients.RoundTrip(old, "after-rotation.bin", payload)
	assertNoRestart(t, ns, before)
}

// Scenario 4: a new FTPSUser logs in without a restart, a changed password
// takes effect, a deleted user cannot log in.
func TestUsersTakeEffectWithoutRestart(t *testing.T) {
	ctx := context.Background()
	ns, _, host, port, caFile := applySamples(t, "maxSessionsPerIP: 20", manyFailures)
	addr := net.JoinHostPort(host, port)
	before := podsOf(t, ns)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "carol-password", Namespace: ns}, StringData: map[string]string{"password": "first-password-of-carol"}}
	if err := st.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	carol := &ftpsv1alpha1.FTPSUser{
		ObjectMeta: metav1.ObjectMeta{Name: "carol", Namespace: ns},
		Spec: ftpsv1alpha1.FTPSUserSpec{
			ServerRef:         ftpsv1alpha1.LocalObjectReference{Name: "exchange"},
			Username:          "carol",
			PasswordSecretRef: &ftpsv1alpha1.SecretKeySelector{Name: "carol-password", Key: "password"},
			Permissions:       []ftpsv1alpha1.Permission{ftpsv1alpha1.PermissionList, ftpsv1alpha1.PermissionRead},
		},
	}
	if err := st.Client.Create(ctx, carol); err != nil {
		t.Fatal(err)
	}
	// Both replicas must know the user: the control Service alternates.
	ftptest.Eventually(t, 60*time.Second, time.Second, "the new user logs in on both replicas", ftptest.Holds(func() bool {
		return twice(func() bool { return loginCode(t, addr, caFile, "carol", "first-password-of-carol") == 230 })
	}))

	secret.Data = map[string][]byte{"password": []byte("second-password-of-carol")}
	secret.StringData = nil
	if err := st.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 60*time.Second, time.Second, "the changed password works on both replicas", ftptest.Holds(func() bool {
		return twice(func() bool { return loginCode(t, addr, caFile, "carol", "second-password-of-carol") == 230 })
	}))
	for i := 0; i < 2; i++ {
		if code := loginCode(t, addr, caFile, "carol", "first-password-of-carol"); code != 530 {
			t.Fatalf("the old password: PASS got %d, want 530", code)
		}
	}

	if err := st.Client.Delete(ctx, carol); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 60*time.Second, time.Second, "the deleted user is refused on both replicas", ftptest.Holds(func() bool {
		return twice(func() bool { return loginCode(t, addr, caFile, "carol", "second-password-of-carol") == 530 })
	}))
	assertNoRestart(t, ns, before)
}

// Scenario 5: a policy change is enforced for new sessions without a restart.
func TestPolicyChangeWithoutRestart(t *testing.T) {
	ctx := context.Background()
	ns, _, host, port, caFile := applySamples(t)
	addr := net.JoinHostPort(host, port)
	before := podsOf(t, ns)

	cccReply := func() int {
		c, _ := clients.Open(t, addr, sampleHost, caFile)
		defer c.Raw.Close()
		if clients.LoginCode(c, sampleUser, samplePassword) != 230 {
			return 0
		}
		code, _ := c.Cmd("CCC")
		return code
	}
	if code := cccReply(); code != 534 {
		t.Fatalf("CCC under ccc: Deny: %d, want 534", code)
	}
	pol := &ftpsv1alpha1.FTPSPolicy{}
	if err := st.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "partners"}, pol); err != nil {
		t.Fatal(err)
	}
	pol.Spec.Control.CCC = config.CCCAllowAfterLogin
	if err := st.Client.Update(ctx, pol); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 60*time.Second, time.Second, "CCC is allowed on both replicas", ftptest.Holds(func() bool {
		return twice(func() bool { return cccReply() == 200 })
	}))
	assertNoRestart(t, ns, before)
}

// Scenario 7: deleting the FTPSServer removes its children through the
// garbage collector; its data volumes stay (reclaimPolicy Retain) or go
// (Delete).
func TestDeletion(t *testing.T) {
	for _, policy := range []string{"Retain", "Delete"} {
		t.Run(policy, func(t *testing.T) {
			ctx := context.Background()
			ns, srv, _, _, _ := applySamples(t, "reclaimPolicy: Retain", "reclaimPolicy: "+policy)
			var claims corev1.PersistentVolumeClaimList
			if err := st.Client.List(ctx, &claims, client.InNamespace(ns)); err != nil || len(claims.Items) != 2 {
				t.Fatalf("data claims before deletion: %d (%v), want 2", len(claims.Items), err)
			}
			if err := st.Client.Delete(ctx, srv); err != nil {
				t.Fatal(err)
			}
			children := []client.Object{
				&ftpsv1alpha1.FTPSServer{ObjectMeta: metav1.ObjectMeta{Name: "exchange"}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "exchange-config"}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "exchange-users"}},
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "exchange"}},
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "exchange-pasv-0"}},
				&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "exchange-pasv-1"}},
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "exchange-0"}},
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "exchange-1"}},
			}
			ftptest.Eventually(t, 60*time.Second, 500*time.Millisecond, "every child is garbage-collected", ftptest.Holds(func() bool {
				for _, obj := range children {
					err := st.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, obj)
					if !apierrors.IsNotFound(err) {
						return false
					}
				}
				return true
			}))
			want := 2
			if policy == "Delete" {
				want = 0
			}
			ftptest.Eventually(t, 30*time.Second, 500*time.Millisecond, "the data claims follow reclaimPolicy", ftptest.Holds(func() bool {
				var claims corev1.PersistentVolumeClaimList
				if err := st.Client.List(ctx, &claims, client.InNamespace(ns)); err != nil {
					return false
				}
				live := 0
				for _, c := range claims.Items {
					if c.DeletionTimestamp == nil {
						live++
					}
				}
				return live == want
			}))
		})
	}
}
