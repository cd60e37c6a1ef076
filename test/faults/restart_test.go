package faults

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// TestManagerRestartMidReconcile stops the manager (cancels its context)
// while it is reconciling 30 new servers, some with all their children and
// some with none or a part, and starts a new manager: every server ends with
// exactly its children and an honest status, and a third manager's full
// resync of the converged namespace writes nothing.
func TestManagerRestartMidReconcile(t *testing.T) {
	const servers = 30
	ns := namespace(t)
	first := startManager(t, ns)
	// Every fifth server's user has a password; the others log in with a
	// client certificate. A bcrypt hash costs over a second of CPU under
	// -race, and hashing is not what this test is about.
	passwords := map[string]map[string]string{}
	withPassword := 0
	for i := range servers {
		name := fmt.Sprintf("srv-%02d", i)
		if i%5 == 0 {
			password := "password-of-" + name
			passwords[name] = map[string]string{"alice": password}
			secret, user := newUser(ns, name, "alice", password)
			create(t, secret, user)
			withPassword++
		} else {
			passwords[name] = map[string]string{"alice": ""}
			create(t, newCertUser(ns, name, "alice"))
		}
		create(t, newServer(ns, name, 2))
	}

	// Stop the first manager once a third of the servers have a
	// StatefulSet (applied late in a reconcile, after the TLS Secret,
	// Services, users Secret and ConfigMap).
	ftptest.Eventually(t, 2*time.Minute, 200*time.Millisecond, "a third of the StatefulSets", func() error {
		var list appsv1.StatefulSetList
		if err := k8s.List(bgCtx, &list, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(list.Items) < servers/3 {
			return fmt.Errorf("%d StatefulSets", len(list.Items))
		}
		return nil
	})
	first.stop(t)
	var sets appsv1.StatefulSetList
	var svcs corev1.ServiceList
	var srvs v1alpha1.FTPSServerList
	for _, l := range []client.ObjectList{&sets, &svcs, &srvs} {
		if err := k8s.List(bgCtx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
	}
	withStatus := 0
	for _, s := range srvs.Items {
		if s.Status.ObservedGeneration != 0 {
			withStatus++
		}
	}
	t.Logf("when the first manager stopped: %d of %d servers had a StatefulSet, %d of %d Services existed, %d servers had a status",
		len(sets.Items), servers, len(svcs.Items), servers*3, withStatus)

	second := startManager(t, ns)
	start := time.Now()
	waitAllConverged(t, 3*time.Minute, ns, passwords)
	t.Logf("the second manager converged %d servers in %s", servers, time.Since(start).Round(100*time.Millisecond))
	second.running(t)
	checkInventory(t, ns, servers, withPassword)

	// A new manager reconciles every server and user once at start: with
	// nothing to change, it writes nothing.
	start = time.Now()
	before := quiet(t, ns, 2*time.Second)
	t.Logf("quiet after %s", time.Since(start).Round(100*time.Millisecond))
	second.stop(t)
	srvDone, usrDone := reconciles(t, "ftpsserver"), reconciles(t, "ftpsuser")
	start = time.Now()
	third := startManager(t, ns)
	ftptest.Eventually(t, 2*time.Minute, 200*time.Millisecond, "the third manager reconciled every server and user", func() error {
		s, u := reconciles(t, "ftpsserver")-srvDone, reconciles(t, "ftpsuser")-usrDone
		if s < servers || u < servers {
			return fmt.Errorf("%v server and %v user reconciles", s, u)
		}
		return nil
	})
	t.Logf("the third manager reconciled every server and user in %s", time.Since(start).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second)
	third.running(t)
	if diff := changes(before, snapshot(t, ns)); len(diff) > 0 {
		t.Errorf("a resync with nothing to change wrote %d objects: %v", len(diff), diff)
	}
}

// checkInventory checks that ns holds exactly the objects of n servers,
// one user each (passwords of them with a password Secret): no duplicate,
// no leftover.
func checkInventory(t *testing.T, ns string, n, passwords int) {
	t.Helper()
	count := func(list client.ObjectList, opts ...client.ListOption) int {
		if err := k8s.List(bgCtx, list, append(opts, client.InNamespace(ns))...); err != nil {
			t.Fatal(err)
		}
		return meta.LenList(list)
	}
	ours := client.MatchingLabels{render.LabelManagedBy: render.FieldOwner}
	for what, c := range map[string][2]int{
		"Services":             {count(&corev1.ServiceList{}), 3 * n},
		"StatefulSets":         {count(&appsv1.StatefulSetList{}), n},
		"PodDisruptionBudgets": {count(&policyv1.PodDisruptionBudgetList{}), n},
		"operator ConfigMaps":  {count(&corev1.ConfigMapList{}, ours), n},
		// The users Secret and the TLS Secret per server, and the
		// password Secrets.
		"Secrets":     {count(&corev1.SecretList{}), 2*n + passwords},
		"FTPSServers": {count(&v1alpha1.FTPSServerList{}), n},
		"FTPSUsers":   {count(&v1alpha1.FTPSUserList{}), n},
	} {
		if c[0] != c[1] {
			t.Errorf("%d %s, want %d", c[0], what, c[1])
		}
	}
}
