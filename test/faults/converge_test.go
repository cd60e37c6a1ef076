package faults

import (
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// newServer is a server with the operator's self-signed certificate,
// ClusterIP Services (addresses known at once, no load balancer needed), a
// small passive range per replica, and the default reclaimPolicy Retain.
func newServer(ns, name string, replicas int32) *v1alpha1.FTPSServer {
	return &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FTPSServerSpec{
			Replicas: new(replicas),
			Ports:    v1alpha1.ServerPorts{Control: 21, Implicit: 990},
			Service:  v1alpha1.ServiceSpec{Type: v1alpha1.ServiceTypeClusterIP},
			Passive:  v1alpha1.PassiveSpec{Mode: v1alpha1.PassiveModePerReplica, PortRangeStart: 30000, PortsPerReplica: 4},
			Storage:  v1alpha1.StorageSpec{Size: resource.MustParse("1Gi"), ReclaimPolicy: v1alpha1.ReclaimRetain},
		},
	}
}

// newUser is an FTPSUser of server and its password Secret <user>-pw.
func newUser(ns, server, username, password string) (*corev1.Secret, *v1alpha1.FTPSUser) {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: server + "-" + username + "-pw"},
		StringData: map[string]string{"password": password},
	}
	u := &v1alpha1.FTPSUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: server + "-" + username},
		Spec: v1alpha1.FTPSUserSpec{
			ServerRef:         v1alpha1.LocalObjectReference{Name: server},
			Username:          username,
			PasswordSecretRef: &v1alpha1.SecretKeySelector{Name: secret.Name, Key: "password"},
		},
	}
	return secret, u
}

// rollOut plays the StatefulSet controller (and the kubelets) for server
// name: it reports every replica of the StatefulSet's current generation
// ready, as the StatefulSet controller does once the pods are. It writes
// only the status subresource, which the operator never applies.
func rollOut(ns, name string) error {
	sts := &appsv1.StatefulSet{}
	if err := get(ns, name, sts); err != nil {
		return fmt.Errorf("StatefulSet: %w", err)
	}
	n := int32(1)
	if sts.Spec.Replicas != nil {
		n = *sts.Spec.Replicas
	}
	s := sts.Status
	if s.ObservedGeneration == sts.Generation && s.Replicas == n && s.ReadyReplicas == n && s.UpdatedReplicas == n && s.AvailableReplicas == n {
		return nil
	}
	sts.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: sts.Generation,
		Replicas:           n, ReadyReplicas: n, CurrentReplicas: n, UpdatedReplicas: n, AvailableReplicas: n,
	}
	return client.WithFieldOwner(k8s, "statefulset-controller-stand-in").Status().Update(bgCtx, sts)
}

// wantConditions are the server's conditions, type to "Status/Reason".
type wantConditions map[string]string

// converged is the status of a server whose children all exist and whose
// replicas are all ready.
func converged(srv *v1alpha1.FTPSServer) wantConditions {
	cert := "True/SelfSigned"
	if srv.Spec.TLS.SecretName != "" {
		cert = "True/SecretProvided"
	}
	return wantConditions{
		v1alpha1.ConditionCertificateReady: cert,
		v1alpha1.ConditionServicesReady:    "True/AddressesAssigned",
		v1alpha1.ConditionAvailable:        "True/MinimumReplicasAvailable",
		v1alpha1.ConditionProgressing:      "False/Stable",
		v1alpha1.ConditionDegraded:         "False/AsExpected",
		v1alpha1.ConditionReady:            "True/Ready",
	}
}

// waitConverged waits until server name's children are exactly what
// internal/render makes of its current spec (users: username to password)
// and its status says so for the current generation; then it checks every
// password against its hash.
// convergedServer creates server name (2 replicas) with one user, alice,
// waits until it has converged, and returns its passwords.
func convergedServer(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	passwords := map[string]string{"alice": "password-of-" + name}
	secret, user := newUser(ns, name, "alice", passwords["alice"])
	create(t, secret, user, newServer(ns, name, 2))
	waitConverged(t, 2*time.Minute, ns, name, passwords)
	return passwords
}

func waitConverged(t *testing.T, timeout time.Duration, ns, name string, passwords map[string]string) {
	t.Helper()
	waitAllConverged(t, timeout, ns, map[string]map[string]string{name: passwords})
}

// waitAllConverged is waitConverged for several servers (name to users) at
// once.
func waitAllConverged(t *testing.T, timeout time.Duration, ns string, servers map[string]map[string]string) {
	t.Helper()
	left := maps.Clone(servers)
	ftptest.Eventually(t, timeout, 200*time.Millisecond, fmt.Sprintf("%d servers converged", len(servers)), func() error {
		var errs []error
		for name, passwords := range left {
			err := rollOut(ns, name)
			if err == nil {
				err = checkServer(ns, name, passwords, nil)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("server %s: %w", name, err))
				continue
			}
			delete(left, name)
		}
		if len(errs) > 0 {
			return fmt.Errorf("%d servers not converged, first: %w", len(errs), errs[0])
		}
		return nil
	})
	for name, passwords := range servers {
		checkPasswords(t, ns, name, passwords)
	}
}

// newCertUser is an FTPSUser of server who logs in with a client
// certificate only: no password Secret, no bcrypt hash to make.
func newCertUser(ns, server, username string) *v1alpha1.FTPSUser {
	return &v1alpha1.FTPSUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: server + "-" + username},
		Spec: v1alpha1.FTPSUserSpec{
			ServerRef:         v1alpha1.LocalObjectReference{Name: server},
			Username:          username,
			ClientCertificate: &v1alpha1.ClientCertificateIdentity{CommonName: username},
		},
	}
}

// checkPasswords checks that the users file holds a hash of each password
// (an empty password: a client-certificate user, with no hash).
func checkPasswords(t *testing.T, ns, name string, passwords map[string]string) {
	t.Helper()
	db, err := usersFile(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	for username, password := range passwords {
		u, ok := db.Lookup(username)
		if !ok {
			t.Fatalf("server %s: %s is not in the users file", name, username)
		}
		if password == "" {
			if u.PasswordHash != "" || u.ClientCertificate == nil {
				t.Fatalf("server %s: certificate user %s has a password hash or no certificate: %+v", name, username, u)
			}
			continue
		}
		if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
			t.Fatalf("server %s: %s's hash does not match the password of its Secret: %v", name, username, err)
		}
	}
}

func usersFile(ns, name string) (*users.DB, error) {
	s := &corev1.Secret{}
	if err := get(ns, name+"-users", s); err != nil {
		return nil, err
	}
	return users.Parse(s.Data[render.UsersKey])
}

// checkServer compares every child of server name with what internal/render
// makes of the server's current spec, and the status with want (nil: the
// status of a converged server). The users file
// must hold, no more (passwords: username to password).
func checkServer(ns, name string, passwords map[string]string, want wantConditions) error {
	srv := &v1alpha1.FTPSServer{}
	if err := get(ns, name, srv); err != nil {
		return err
	}
	if want == nil {
		want = converged(srv)
	}
	owned := func(o client.Object) error {
		refs := o.GetOwnerReferences()
		if len(refs) != 1 || refs[0].UID != srv.UID || refs[0].Controller == nil || !*refs[0].Controller {
			return fmt.Errorf("%T %s: owner references %v, want FTPSServer %s (%s) alone, as controller", o, o.GetName(), refs, srv.Name, srv.UID)
		}
		return nil
	}
	n := render.Replicas(srv)

	// The TLS Secret the pods mount.
	var serial string
	tls := &corev1.Secret{}
	switch err := get(ns, render.TLSSecretName(srv), tls); {
	case err == nil:
		if srv.Spec.TLS.SecretName == "" {
			if err := owned(tls); err != nil {
				return err
			}
		}
		cert, err := render.LeafCertificate(tls)
		if err != nil {
			return fmt.Errorf("TLS Secret %s: %w", tls.Name, err)
		}
		serial = fmt.Sprintf("%x", cert.SerialNumber)
	case apierrors.IsNotFound(err) && want[v1alpha1.ConditionCertificateReady] != "True/SelfSigned" && want[v1alpha1.ConditionCertificateReady] != "True/SecretProvided":
	default:
		return fmt.Errorf("TLS Secret: %w", err)
	}

	// The control Service and one passive Service per replica, no more.
	control := &corev1.Service{}
	if err := get(ns, name, control); err != nil {
		return fmt.Errorf("control Service: %w", err)
	}
	if err := owned(control); err != nil {
		return err
	}
	if err := sameService(control, render.ControlService(srv)); err != nil {
		return err
	}
	var passive corev1.ServiceList
	if err := k8s.List(bgCtx, &passive, client.InNamespace(ns), client.MatchingLabels{
		render.LabelInstance: name, render.LabelComponent: render.ComponentPassive,
	}); err != nil {
		return err
	}
	if len(passive.Items) != int(n) {
		return fmt.Errorf("%d passive Services for %d replicas", len(passive.Items), n)
	}
	addresses := map[int32]string{}
	for i := range n {
		want := render.PassiveService(srv, i)
		idx := slices.IndexFunc(passive.Items, func(s corev1.Service) bool { return s.Name == want.Name })
		if idx < 0 {
			return fmt.Errorf("passive Service %s missing", want.Name)
		}
		s := &passive.Items[idx]
		if err := owned(s); err != nil {
			return err
		}
		if err := sameService(s, want); err != nil {
			return err
		}
		addresses[i] = s.Spec.ClusterIP
	}

	// ftpsd.yaml, rendered from the spec and the Services' addresses.
	cfg := render.FTPSDConfig(srv, nil, addresses)
	wantCM, err := render.ConfigMap(srv, cfg)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{}
	if err := get(ns, wantCM.Name, cm); err != nil {
		return fmt.Errorf("ConfigMap: %w", err)
	}
	if err := owned(cm); err != nil {
		return err
	}
	if !maps.Equal(cm.Data, wantCM.Data) {
		return fmt.Errorf("ConfigMap %s is not the rendered ftpsd.yaml:\n%s\nwant:\n%s", cm.Name, cm.Data[render.ConfigKey], wantCM.Data[render.ConfigKey])
	}

	// The users file: exactly these users.
	usersSecret := &corev1.Secret{}
	if err := get(ns, render.UsersSecretName(srv), usersSecret); err != nil {
		return fmt.Errorf("users Secret: %w", err)
	}
	if err := owned(usersSecret); err != nil {
		return err
	}
	db, err := users.Parse(usersSecret.Data[render.UsersKey])
	if err != nil {
		return err
	}
	if got, want := db.Usernames(), slices.Sorted(maps.Keys(passwords)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		return fmt.Errorf("users file holds %v, want %v", got, want)
	}

	// The StatefulSet.
	sts := &appsv1.StatefulSet{}
	if err := get(ns, name, sts); err != nil {
		return fmt.Errorf("StatefulSet: %w", err)
	}
	if err := owned(sts); err != nil {
		return err
	}
	wantSTS := render.StatefulSet(srv, testImage, render.RestartHash(cfg, nil))
	switch {
	case sts.Spec.Replicas == nil || *sts.Spec.Replicas != n:
		return fmt.Errorf("StatefulSet replicas %v, want %d", sts.Spec.Replicas, n)
	case !maps.Equal(sts.Spec.Template.Annotations, wantSTS.Spec.Template.Annotations):
		return fmt.Errorf("pod template annotations %v, want %v", sts.Spec.Template.Annotations, wantSTS.Spec.Template.Annotations)
	case sts.Spec.Template.Spec.Containers[0].Image != testImage:
		return fmt.Errorf("image %s", sts.Spec.Template.Spec.Containers[0].Image)
	case !reflect.DeepEqual(sts.Spec.Template.Spec.Containers[0].Ports, wantSTS.Spec.Template.Spec.Containers[0].Ports):
		return fmt.Errorf("container ports %v, want %v", sts.Spec.Template.Spec.Containers[0].Ports, wantSTS.Spec.Template.Spec.Containers[0].Ports)
	}
	pdb := &policyv1.PodDisruptionBudget{}
	if err := get(ns, name, pdb); err != nil {
		return fmt.Errorf("PodDisruptionBudget: %w", err)
	}
	if err := owned(pdb); err != nil {
		return err
	}

	return checkStatus(srv, want, serial, addresses)
}

// sameService compares what the operator sets of a Service.
func sameService(got, want *corev1.Service) error {
	type port struct {
		name       string
		port       int32
		targetPort string
	}
	ports := func(s *corev1.Service) []port {
		var out []port
		for _, p := range s.Spec.Ports {
			out = append(out, port{p.Name, p.Port, p.TargetPort.String()})
		}
		return out
	}
	switch {
	case got.Spec.Type != want.Spec.Type:
		return fmt.Errorf("Service %s type %s, want %s", got.Name, got.Spec.Type, want.Spec.Type)
	case !maps.Equal(got.Spec.Selector, want.Spec.Selector):
		return fmt.Errorf("Service %s selector %v, want %v", got.Name, got.Spec.Selector, want.Spec.Selector)
	case !slices.Equal(ports(got), ports(want)):
		return fmt.Errorf("Service %s ports %v, want %v", got.Name, ports(got), ports(want))
	case got.Spec.ClusterIP == "":
		return fmt.Errorf("Service %s has no cluster IP", got.Name)
	}
	return nil
}

// checkStatus compares the status with want, and with what the children
// say: the certificate's serial number, the Services' addresses.
func checkStatus(srv *v1alpha1.FTPSServer, want wantConditions, serial string, addresses map[int32]string) error {
	st, gen := srv.Status, srv.Generation
	if st.ObservedGeneration != gen {
		return fmt.Errorf("status.observedGeneration %d, generation %d", st.ObservedGeneration, gen)
	}
	if len(st.Conditions) != len(want) {
		return fmt.Errorf("%d conditions, want %d: %v", len(st.Conditions), len(want), st.Conditions)
	}
	for typ, sr := range want {
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			return fmt.Errorf("no %s condition", typ)
		}
		if got := string(c.Status) + "/" + c.Reason; got != sr || c.ObservedGeneration != gen {
			return fmt.Errorf("%s %s (generation %d), want %s (generation %d): %s", typ, got, c.ObservedGeneration, sr, gen, c.Message)
		}
	}
	n := render.Replicas(srv)
	if want[v1alpha1.ConditionAvailable] == "True/MinimumReplicasAvailable" && (st.Replicas != n || st.ReadyReplicas != n) {
		return fmt.Errorf("status replicas %d ready %d, want %d", st.Replicas, st.ReadyReplicas, n)
	}
	if serial == "" {
		if st.Certificate != nil {
			return fmt.Errorf("status.certificate %+v without a TLS Secret", st.Certificate)
		}
	} else if st.Certificate == nil || st.Certificate.SerialNumber != serial || st.Certificate.SecretName != render.TLSSecretName(srv) {
		return fmt.Errorf("status.certificate %+v, want serial %s of Secret %s", st.Certificate, serial, render.TLSSecretName(srv))
	}
	if want := net.JoinHostPort(srv.Name+"."+srv.Namespace+".svc", strconv.Itoa(int(render.ControlPort(srv)))); st.Endpoint != want {
		return fmt.Errorf("status.endpoint %q, want %q", st.Endpoint, want)
	}
	if len(st.Passive) != int(n) {
		return fmt.Errorf("status.passive %v for %d replicas", st.Passive, n)
	}
	for i, p := range st.Passive {
		first, last := render.ReplicaPortRange(srv, int32(i))
		if p.Replica != int32(i) || p.Address != addresses[int32(i)] || p.PortRange != render.FormatRange(first, last) {
			return fmt.Errorf("status.passive[%d] %+v, want address %s ports %s", i, p, addresses[int32(i)], render.FormatRange(first, last))
		}
	}
	return nil
}

// updateServer edits a server's spec, retrying on conflicts with the
// operator's status writes (bounded by the eventually around it).
func updateServer(t *testing.T, ns, name string, edit func(*v1alpha1.FTPSServer)) {
	t.Helper()
	ftptest.Eventually(t, 30*time.Second, 200*time.Millisecond, "updating server "+name, func() error {
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, name, cur); err != nil {
			return err
		}
		edit(cur)
		return k8s.Update(bgCtx, cur)
	})
}

// snapshot maps every object of ns the operator reads or writes
// ("Kind/name") to its resourceVersion.
func snapshot(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lists := map[string]client.ObjectList{
		"FTPSServer": &v1alpha1.FTPSServerList{}, "FTPSUser": &v1alpha1.FTPSUserList{},
		"Secret": &corev1.SecretList{}, "ConfigMap": &corev1.ConfigMapList{}, "Service": &corev1.ServiceList{},
		"StatefulSet": &appsv1.StatefulSetList{}, "PodDisruptionBudget": &policyv1.PodDisruptionBudgetList{},
	}
	for kind, list := range lists {
		if err := k8s.List(bgCtx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := meta.EachListItem(list, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err != nil {
				return err
			}
			out[kind+"/"+m.GetName()] = m.GetResourceVersion()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// changes lists the keys whose resourceVersion differs between snapshots.
func changes(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if after[k] != v {
			out = append(out, fmt.Sprintf("%s (%s -> %q)", k, v, after[k]))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			out = append(out, k+" (new)")
		}
	}
	slices.Sort(out)
	return out
}

// quiet waits until a snapshot of ns stays the same for settle, and
// returns it.
func quiet(t *testing.T, ns string, settle time.Duration) map[string]string {
	t.Helper()
	last := snapshot(t, ns)
	ftptest.Eventually(t, time.Minute, 200*time.Millisecond, "namespace "+ns+" quiet", func() error {
		time.Sleep(settle)
		cur := snapshot(t, ns)
		if maps.Equal(cur, last) {
			return nil
		}
		diff := changes(last, cur)
		last = cur
		return fmt.Errorf("still changing: %v", diff)
	})
	return last
}
