package controllers_test

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

func sampleServer(ns, name string) *v1alpha1.FTPSServer {
	return &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FTPSServerSpec{
			Replicas: new(int32(2)),
			TLS: v1alpha1.ServerTLS{
				IssuerRef:   &v1alpha1.IssuerReference{Name: "ftps-ca", Kind: "Issuer"},
				DNSNames:    []string{"ftps.example.com"},
				Duration:    &metav1.Duration{Duration: 2160 * time.Hour},
				RenewBefore: &metav1.Duration{Duration: 720 * time.Hour},
			},
			PolicyRef: &v1alpha1.LocalObjectReference{Name: "partners"},
			Ports:     v1alpha1.ServerPorts{Control: 21, Implicit: 990},
			Passive:   v1alpha1.PassiveSpec{Mode: v1alpha1.PassiveModePerReplica, PortRangeStart: 30000, PortsPerReplica: 16},
			Storage:   v1alpha1.StorageSpec{Size: resource.MustParse("10Gi"), ReclaimPolicy: v1alpha1.ReclaimRetain},
			Limits:    v1alpha1.Limits{MaxSessionsPerIP: 20},
		},
	}
}

func samplePolicy(ns string) *v1alpha1.FTPSPolicy {
	return &v1alpha1.FTPSPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "partners"},
		Spec: v1alpha1.FTPSPolicySpec{
			Control: config.ControlPolicy{RequireTLS: config.RequireTLSLogin, CCC: config.CCCDeny},
			TLS:     config.TLSPolicy{MinVersion: config.TLSVersion12},
			Data:    config.DataPolicy{Protection: config.ProtectionPrivate, SessionReuse: config.SessionReuseRequired},
		},
	}
}

func passwordSecret(ns, name, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		StringData: map[string]string{"password": password},
	}
}

func ftpsUser(ns, name, server, username, secret string) *v1alpha1.FTPSUser {
	u := &v1alpha1.FTPSUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FTPSUserSpec{
			ServerRef: v1alpha1.LocalObjectReference{Name: server},
			Username:  username,
		},
	}
	if secret != "" {
		u.Spec.PasswordSecretRef = &v1alpha1.SecretKeySelector{Name: secret, Key: "password"}
	}
	return u
}

// updateServer changes a server's spec, retrying when the operator's status
// writes win the race.
func updateServer(t *testing.T, ns, name string, edit func(*v1alpha1.FTPSServer)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, name, cur); err != nil {
			return err
		}
		edit(cur)
		return k8s.Update(testCtx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(testCtx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func get(ns, name string, obj client.Object) error {
	return k8s.Get(testCtx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

// renderedConfig reads and parses the server's ftpsd.yaml with ftpsd's loader.
func renderedConfig(ns, name string) (*config.Config, *corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := get(ns, name+"-config", cm); err != nil {
		return nil, nil, err
	}
	c, err := config.Parse([]byte(cm.Data[render.ConfigKey]))
	return c, cm, err
}

func renderedUsers(ns, name string) (*users.DB, *corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := get(ns, name+"-users", s); err != nil {
		return nil, nil, err
	}
	db, err := users.Parse(s.Data[render.UsersKey])
	return db, s, err
}

func condition(conds []metav1.Condition, t string) (*metav1.Condition, error) {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return nil, fmt.Errorf("no %s condition in %v", t, conds)
	}
	return c, nil
}

func ownedBy(o metav1.Object, srv *v1alpha1.FTPSServer) error {
	for _, r := range o.GetOwnerReferences() {
		if r.UID == srv.UID && r.Controller != nil && *r.Controller {
			return nil
		}
	}
	return fmt.Errorf("%s is not controlled by FTPSServer %s: %v", o.GetName(), srv.Name, o.GetOwnerReferences())
}

// children are every object the operator makes for srv (with cert-manager).
func children(srv *v1alpha1.FTPSServer) map[string]client.Object {
	n := srv.Name
	out := map[string]client.Object{
		"ConfigMap/" + n + "-config": &corev1.ConfigMap{},
		"Secret/" + n + "-users":     &corev1.Secret{},
		"StatefulSet/" + n:           &appsv1.StatefulSet{},
		"Service/" + n:               &corev1.Service{},
		"PodDisruptionBudget/" + n:   &policyv1.PodDisruptionBudget{},
		"Certificate/" + n:           &cmapi.Certificate{},
	}
	for i := range render.Replicas(srv) {
		out["Service/"+render.PassiveServiceName(srv, i)] = &corev1.Service{}
	}
	return out
}

func nameOf(key string) string {
	for i := range key {
		if key[i] == '/' {
			return key[i+1:]
		}
	}
	return key
}

// TestSampleFlow creates the samples (policy, user, server with a
// cert-manager issuer) and checks every child, the status, the user's
// status, the addresses written back into the ConfigMap, and that a
// reconcile with nothing changed writes nothing.
func TestSampleFlow(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "exchange")
	create(t, samplePolicy(ns), passwordSecret(ns, "alice-password", "change-me-to-something-long"),
		ftpsUser(ns, "alice", "exchange", "alice", "alice-password"), srv)

	kids := children(srv)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "every child exists", func() error {
		for k, o := range kids {
			if err := get(ns, nameOf(k), o); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if err := ownedBy(o, srv); err != nil {
				return err
			}
			if o.GetManagedFields()[0].Manager != render.FieldOwner {
				return fmt.Errorf("%s managed by %q", k, o.GetManagedFields()[0].Manager)
			}
		}
		return nil
	})

	// ConfigMap: ftpsd accepts it; the policy and passive layout are in it.
	c, _, err := renderedConfig(ns, "exchange")
	if err != nil {
		t.Fatal(err)
	}
	if c.Passive.PortRange != "30000-30031" || c.Passive.PerReplica.PortsPerReplica != 16 || c.ImplicitListen != ":2990" || c.Limits.MaxSessionsPerIP != 20 {
		t.Errorf("config %+v", c)
	}

	// Users Secret: alice's bcrypt hash of her password, nothing else.
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "alice in the users file", func() error {
		db, s, err := renderedUsers(ns, "exchange")
		if err != nil {
			return err
		}
		alice, ok := db.Lookup("alice")
		if !ok {
			return errors.New("no alice")
		}
		if len(s.Data) != 1 {
			return fmt.Errorf("users Secret keys %v", maps.Keys(s.Data))
		}
		return bcrypt.CompareHashAndPassword([]byte(alice.PasswordHash), []byte("change-me-to-something-long"))
	})

	sts := kids["StatefulSet/exchange"].(*appsv1.StatefulSet)
	if *sts.Spec.Replicas != 2 || sts.Spec.Template.Spec.Containers[0].Image != testImage {
		t.Errorf("statefulset replicas %d image %s", *sts.Spec.Replicas, sts.Spec.Template.Spec.Containers[0].Image)
	}
	crt := kids["Certificate/exchange"].(*cmapi.Certificate)
	if crt.Spec.SecretName != "exchange-tls" || crt.Spec.DNSNames[0] != "ftps.example.com" || crt.Spec.IssuerRef.Name != "ftps-ca" {
		t.Errorf("certificate %+v", crt.Spec)
	}
	p1 := kids["Service/exchange-pasv-1"].(*corev1.Service)
	if p1.Spec.Ports[0].Port != 30016 || len(p1.Spec.Ports) != 16 || p1.Spec.Selector[render.LabelPodName] != "exchange-1" {
		t.Errorf("pasv-1 %+v", p1.Spec)
	}
	ctl := kids["Service/exchange"].(*corev1.Service)
	if len(ctl.Spec.Ports) != 2 || ctl.Spec.Ports[0].Port != 21 || ctl.Spec.Ports[1].Port != 990 {
		t.Errorf("control ports %+v", ctl.Spec.Ports)
	}

	// Status.
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "status", func() error {
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "exchange", cur); err != nil {
			return err
		}
		if cur.Status.ObservedGeneration != cur.Generation {
			return fmt.Errorf("observedGeneration %d", cur.Status.ObservedGeneration)
		}
		for _, ty := range []string{"Ready", "CertificateReady", "ServicesReady", "Available", "Progressing", "Degraded"} {
			c, err := condition(cur.Status.Conditions, ty)
			if err != nil {
				return err
			}
			if c.ObservedGeneration != cur.Generation {
				return fmt.Errorf("%s observedGeneration %d", ty, c.ObservedGeneration)
			}
		}
		cr, _ := condition(cur.Status.Conditions, "CertificateReady")
		if cr.Reason != "Issuing" {
			return fmt.Errorf("CertificateReady %s/%s", cr.Status, cr.Reason)
		}
		if len(cur.Status.Passive) != 2 || cur.Status.Passive[1].PortRange != "30016-30031" {
			return fmt.Errorf("passive %+v", cur.Status.Passive)
		}
		return nil
	})
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "alice Ready", func() error {
		u := &v1alpha1.FTPSUser{}
		if err := get(ns, "alice", u); err != nil {
			return err
		}
		c, err := condition(u.Status.Conditions, "Ready")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || c.Reason != "Ready" {
			return fmt.Errorf("Ready %s/%s", c.Status, c.Reason)
		}
		return nil
	})

	// The load balancers hand out addresses: they reach the ConfigMap and
	// the status; the endpoint appears.
	for name, ip := range map[string]string{"exchange": "203.0.113.1", "exchange-pasv-0": "203.0.113.10", "exchange-pasv-1": "203.0.113.11"} {
		s := &corev1.Service{}
		if err := get(ns, name, s); err != nil {
			t.Fatal(err)
		}
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		if err := k8s.Status().Update(testCtx, s); err != nil {
			t.Fatal(err)
		}
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "addresses in the ConfigMap and the status", func() error {
		c, _, err := renderedConfig(ns, "exchange")
		if err != nil {
			return err
		}
		if c.Passive.AddressFor(0) != "203.0.113.10" || c.Passive.AddressFor(1) != "203.0.113.11" {
			return fmt.Errorf("addresses %v", c.Passive.Addresses)
		}
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "exchange", cur); err != nil {
			return err
		}
		if cur.Status.Endpoint != "203.0.113.1:21" || cur.Status.Passive[1].Address != "203.0.113.11" {
			return fmt.Errorf("endpoint %q passive %+v", cur.Status.Endpoint, cur.Status.Passive)
		}
		sr, _ := condition(cur.Status.Conditions, "ServicesReady")
		if sr.Status != metav1.ConditionTrue {
			return fmt.Errorf("ServicesReady %s: %s", sr.Status, sr.Message)
		}
		return nil
	})

	// cert-manager issues the certificate and the pods become ready (envtest
	// runs neither: the test plays their part): Ready=True.
	issued, err := render.SelfSignedSecret(srv, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	issued.Annotations = map[string]string{"cert-manager.io/certificate-name": "exchange"}
	create(t, issued)
	renewal := metav1.NewTime(time.Now().Add(1440 * time.Hour).UTC().Truncate(time.Second))
	crt.Status = cmapi.CertificateStatus{
		Conditions:  []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: "True", Reason: "Ready", Message: "issued"}},
		RenewalTime: &renewal,
	}
	if err := k8s.Status().Update(testCtx, crt); err != nil {
		t.Fatal(err)
	}
	if err := get(ns, "exchange", sts); err != nil {
		t.Fatal(err)
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	if err := k8s.Status().Update(testCtx, sts); err != nil {
		t.Fatal(err)
	}
	wantSerial, err := tlsSerial(ns, "exchange-tls")
	if err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "Ready", func() error {
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "exchange", cur); err != nil {
			return err
		}
		for ty, want := range map[string]string{"Ready": "True/Ready", "CertificateReady": "True/Issued", "Available": "True/MinimumReplicasAvailable",
			"Progressing": "False/Stable", "Degraded": "False/AsExpected", "ServicesReady": "True/AddressesAssigned"} {
			c, err := condition(cur.Status.Conditions, ty)
			if err != nil {
				return err
			}
			if got := string(c.Status) + "/" + c.Reason; got != want {
				return fmt.Errorf("%s %s, want %s: %s", ty, got, want, c.Message)
			}
		}
		cs := cur.Status.Certificate
		if cs == nil || cs.SerialNumber != wantSerial || cs.RenewalTime == nil || !cs.RenewalTime.Equal(&renewal) || cs.SecretName != "exchange-tls" {
			return fmt.Errorf("certificate status %+v", cs)
		}
		if cur.Status.ReadyReplicas != 2 || cur.Status.Replicas != 2 {
			return fmt.Errorf("replicas %d/%d", cur.Status.ReadyReplicas, cur.Status.Replicas)
		}
		return nil
	})

	// Nothing changed: a reconcile (triggered by an annotation, which does
	// not change the generation) writes nothing.
	assertNoWrites(t, srv, func() {
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "exchange", cur); err != nil {
			t.Fatal(err)
		}
		base := cur.DeepCopy()
		cur.Annotations = map[string]string{"test/poke": "1"}
		if err := k8s.Patch(testCtx, cur, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
	})
}

// resourceVersions reads every child's resourceVersion, and the server's
// status (as the operator wrote it).
func resourceVersions(t *testing.T, srv *v1alpha1.FTPSServer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, o := range children(srv) {
		if err := get(srv.Namespace, nameOf(k), o); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			t.Fatal(err)
		}
		out[k] = o.GetResourceVersion()
	}
	for _, name := range []string{srv.Name + "-tls"} {
		s := &corev1.Secret{}
		if err := get(srv.Namespace, name, s); err == nil {
			out["Secret/"+name] = s.ResourceVersion
		}
	}
	return out
}

// assertNoWrites waits for the server to settle, runs poke, waits for the
// reconciles it causes, and checks that no child changed.
func assertNoWrites(t *testing.T, srv *v1alpha1.FTPSServer, poke func()) {
	t.Helper()
	settle := func() map[string]string {
		var last map[string]string
		ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "children settle", func() error {
			time.Sleep(time.Second)
			cur := resourceVersions(t, srv)
			if last != nil && maps.Equal(last, cur) {
				return nil
			}
			last = cur
			return errors.New("still changing")
		})
		return last
	}
	before := settle()
	statusBefore := &v1alpha1.FTPSServer{}
	if err := get(srv.Namespace, srv.Name, statusBefore); err != nil {
		t.Fatal(err)
	}
	poke()
	time.Sleep(2 * time.Second)
	after := resourceVersions(t, srv)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s was written by a reconcile with nothing to change (resourceVersion %s -> %s)", k, v, after[k])
		}
	}
	statusAfter := &v1alpha1.FTPSServer{}
	if err := get(srv.Namespace, srv.Name, statusAfter); err != nil {
		t.Fatal(err)
	}
	for i, c := range statusBefore.Status.Conditions {
		if !c.LastTransitionTime.Equal(&statusAfter.Status.Conditions[i].LastTransitionTime) {
			t.Errorf("condition %s moved its lastTransitionTime", c.Type)
		}
	}
}

// TestScaleKeepsRanges scales 2 -> 3 -> 1 and checks the passive Services
// follow while replica 0's range never moves. It also covers the
// self-signed certificate (no issuerRef, no secretName).
func TestScaleKeepsRanges(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "scaly")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv)

	pasvPorts := func(i int32) (int32, int, error) {
		s := &corev1.Service{}
		if err := get(ns, "scaly-pasv-"+strconv.Itoa(int(i)), s); err != nil {
			return 0, 0, err
		}
		return s.Spec.Ports[0].Port, len(s.Spec.Ports), nil
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "two passive Services", func() error {
		_, _, err := pasvPorts(1)
		return err
	})
	first0, n0, _ := pasvPorts(0)

	// Self-signed certificate in scaly-tls, reported in the status.
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "self-signed certificate", func() error {
		s := &corev1.Secret{}
		if err := get(ns, "scaly-tls", s); err != nil {
			return err
		}
		if s.Type != corev1.SecretTypeTLS {
			return fmt.Errorf("type %s", s.Type)
		}
		cert, err := render.LeafCertificate(s)
		if err != nil {
			return err
		}
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "scaly", cur); err != nil {
			return err
		}
		cs := cur.Status.Certificate
		if cs == nil || cs.NotAfter == nil || !cs.NotAfter.Time.Equal(cert.NotAfter) || cs.SerialNumber != fmt.Sprintf("%x", cert.SerialNumber) || cs.RenewalTime == nil {
			return fmt.Errorf("certificate status %+v", cs)
		}
		c, err := condition(cur.Status.Conditions, "CertificateReady")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || c.Reason != "SelfSigned" {
			return fmt.Errorf("CertificateReady %s/%s", c.Status, c.Reason)
		}
		return nil
	})

	scale := func(n int32) {
		t.Helper()
		updateServer(t, ns, "scaly", func(s *v1alpha1.FTPSServer) { s.Spec.Replicas = new(n) })
	}
	scale(3)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "third passive Service", func() error {
		first, n, err := pasvPorts(2)
		if err != nil {
			return err
		}
		if first != 30032 || n != 16 {
			return fmt.Errorf("pasv-2 starts at %d with %d ports", first, n)
		}
		return nil
	})
	if first, n, _ := pasvPorts(0); first != first0 || n != n0 {
		t.Errorf("replica 0's range moved: %d+%d -> %d+%d", first0, n0, first, n)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "ConfigMap and StatefulSet follow", func() error {
		c, _, err := renderedConfig(ns, "scaly")
		if err != nil {
			return err
		}
		if c.Passive.PortRange != "30000-30047" {
			return fmt.Errorf("portRange %s", c.Passive.PortRange)
		}
		sts := &appsv1.StatefulSet{}
		if err := get(ns, "scaly", sts); err != nil {
			return err
		}
		if *sts.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d", *sts.Spec.Replicas)
		}
		return nil
	})

	scale(1)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "passive Services 1 and 2 deleted", func() error {
		for _, i := range []int32{1, 2} {
			if _, _, err := pasvPorts(i); !apierrors.IsNotFound(err) {
				return fmt.Errorf("pasv-%d: %v", i, err)
			}
		}
		return nil
	})
	if first, n, _ := pasvPorts(0); first != first0 || n != n0 {
		t.Errorf("replica 0's range moved: %d+%d -> %d+%d", first0, n0, first, n)
	}

	// Shared mode: one Service with client affinity replaces the per-replica ones.
	updateServer(t, ns, "scaly", func(s *v1alpha1.FTPSServer) {
		s.Spec.Replicas = new(int32(2))
		s.Spec.Passive.Mode = v1alpha1.PassiveModeShared
	})
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "shared passive Service", func() error {
		s := &corev1.Service{}
		if err := get(ns, "scaly-pasv", s); err != nil {
			return err
		}
		if s.Spec.SessionAffinity != corev1.ServiceAffinityClientIP || len(s.Spec.Ports) != 32 {
			return fmt.Errorf("affinity %s, %d ports", s.Spec.SessionAffinity, len(s.Spec.Ports))
		}
		if _, _, err := pasvPorts(0); !apierrors.IsNotFound(err) {
			return fmt.Errorf("pasv-0: %v", err)
		}
		c, _, err := renderedConfig(ns, "scaly")
		if err != nil {
			return err
		}
		if c.Passive.PerReplica != nil || c.Passive.PortRange != "30000-30031" {
			return fmt.Errorf("passive %+v", c.Passive)
		}
		return nil
	})
}

// TestPolicyChangeDoesNotRoll: a policy change reaches the ConfigMap (ftpsd
// reloads it) and leaves the pod template's restart hash alone; a port
// change rolls.
func TestPolicyChangeDoesNotRoll(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "pol")
	srv.Spec.TLS.IssuerRef = nil
	pol := samplePolicy(ns)
	create(t, pol, srv)

	restartHash := func() (string, error) {
		sts := &appsv1.StatefulSet{}
		if err := get(ns, "pol", sts); err != nil {
			return "", err
		}
		return sts.Spec.Template.Annotations[render.AnnotationRestartHash], nil
	}
	var hash string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "StatefulSet", func() error {
		var err error
		hash, err = restartHash()
		return err
	})

	cur := &v1alpha1.FTPSPolicy{}
	if err := get(ns, "partners", cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Data.Protection = config.ProtectionClientChoice
	cur.Spec.TLS.MinVersion = config.TLSVersion13
	if err := k8s.Update(testCtx, cur); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "policy in the ConfigMap", func() error {
		c, _, err := renderedConfig(ns, "pol")
		if err != nil {
			return err
		}
		if c.Policy.Data.Protection != config.ProtectionClientChoice || c.Policy.TLS.MinVersion != "1.3" {
			return fmt.Errorf("policy %+v", c.Policy)
		}
		return nil
	})
	if got, _ := restartHash(); got != hash {
		t.Errorf("a policy change rolled the pods: restart hash %s -> %s", hash, got)
	}

	// Deleting the policy: Degraded PolicyNotFound, secure defaults rendered.
	if err := k8s.Delete(testCtx, cur); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "PolicyNotFound", func() error {
		s := &v1alpha1.FTPSServer{}
		if err := get(ns, "pol", s); err != nil {
			return err
		}
		c, err := condition(s.Status.Conditions, "Degraded")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || c.Reason != "PolicyNotFound" {
			return fmt.Errorf("Degraded %s/%s", c.Status, c.Reason)
		}
		cfg, _, err := renderedConfig(ns, "pol")
		if err != nil {
			return err
		}
		if cfg.Policy.Data.Protection != config.ProtectionPrivate {
			return fmt.Errorf("protection %s, want the default Private", cfg.Policy.Data.Protection)
		}
		return nil
	})

	updateServer(t, ns, "pol", func(s *v1alpha1.FTPSServer) { s.Spec.Ports.Implicit = 0 })
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "a listener change rolls", func() error {
		got, err := restartHash()
		if err != nil {
			return err
		}
		if got == hash {
			return errors.New("restart hash unchanged")
		}
		return nil
	})
}

// TestStorageGrowIsReported: a bigger spec.storage.size cannot reach the
// StatefulSet's immutable claim templates; the rest of the spec still rolls
// out and Degraded says what to do.
func TestStorageGrowIsReported(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "grow")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "StatefulSet", func() error { return get(ns, "grow", &appsv1.StatefulSet{}) })
	updateServer(t, ns, "grow", func(s *v1alpha1.FTPSServer) {
		s.Spec.Storage.Size = resource.MustParse("20Gi")
		s.Spec.Image = "example.com/ftpsd:next"
	})
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "image rolled out, resize reported", func() error {
		sts := &appsv1.StatefulSet{}
		if err := get(ns, "grow", sts); err != nil {
			return err
		}
		if img := sts.Spec.Template.Spec.Containers[0].Image; img != "example.com/ftpsd:next" {
			return fmt.Errorf("image %s", img)
		}
		if q := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "10Gi" {
			return fmt.Errorf("claim template %s", q.String())
		}
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "grow", cur); err != nil {
			return err
		}
		c, err := condition(cur.Status.Conditions, "Degraded")
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue || c.Reason != "StorageResizeUnsupported" {
			return fmt.Errorf("Degraded %s/%s: %s", c.Status, c.Reason, c.Message)
		}
		return nil
	})
}

// TestDriftIsReverted: a child edited by someone else gets the operator's
// content back, and then settles (no further writes).
func TestDriftIsReverted(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "drift")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv)
	var want string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "ConfigMap", func() error {
		_, cm, err := renderedConfig(ns, "drift")
		if err != nil {
			return err
		}
		want = cm.Data[render.ConfigKey]
		return nil
	})
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm := &corev1.ConfigMap{}
		if err := get(ns, "drift-config", cm); err != nil {
			return err
		}
		cm.Data[render.ConfigKey] = "listen: \":21\"\n"
		return k8s.Update(testCtx, cm)
	})
	if err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "ConfigMap restored", func() error {
		_, cm, err := renderedConfig(ns, "drift")
		if err != nil {
			return err
		}
		if cm.Data[render.ConfigKey] != want {
			return errors.New("still edited")
		}
		return nil
	})
	cur := &v1alpha1.FTPSServer{}
	if err := get(ns, "drift", cur); err != nil {
		t.Fatal(err)
	}
	assertNoWrites(t, cur, func() { poke(t, ns, "drift") })
}
