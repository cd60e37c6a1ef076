package main

import (
	"context"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// expectedConditions is the up-to-date status of a server in this
// benchmark: cert-manager's CRDs are installed but its controllers do not
// run (the Certificate stays un-issued), the Services are ClusterIP (their
// address is the cluster IP, known at once), and no pod ever runs (envtest
// has no StatefulSet controller). Every condition must also carry the
// server's current generation.
var expectedConditions = map[string]struct {
	status metav1.ConditionStatus
	reason string
}{
	v1alpha1.ConditionCertificateReady: {metav1.ConditionFalse, controllers.ReasonIssuing},
	v1alpha1.ConditionServicesReady:    {metav1.ConditionTrue, controllers.ReasonAddressesAssigned},
	v1alpha1.ConditionAvailable:        {metav1.ConditionFalse, controllers.ReasonNoReplicaReady},
	v1alpha1.ConditionProgressing:      {metav1.ConditionTrue, controllers.ReasonRollingOut},
	v1alpha1.ConditionDegraded:         {metav1.ConditionFalse, controllers.ReasonAsExpected},
	v1alpha1.ConditionReady:            {metav1.ConditionFalse, controllers.ReasonCertificateNotReady},
}

// watcher follows the benchmark's namespace through informers of its own,
// so that telling progress costs the API server watches, not lists.
type watcher struct {
	cache cache.Cache
	ns    string
	// hashed memoises, per users Secret and resourceVersion, which users
	// have a hash: parsing every users file on every poll would cost the
	// benchmark more CPU than the manager it measures.
	hashed map[string]usersFileMemo
}

type usersFileMemo struct {
	resourceVersion string
	hashed          map[string]bool
	err             string
}

var metadataKinds = []schema.GroupVersionKind{
	corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	corev1.SchemeGroupVersion.WithKind("Service"),
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
	cmapi.SchemeGroupVersion.WithKind("Certificate"),
}

func newWatcher(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, ns string) (*watcher, error) {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		ByObject: map[client.Object]cache.ByObject{
			// Only the operator's Secrets: the users files.
			&corev1.Secret{}: {Label: labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.FieldOwner})},
		},
	})
	if err != nil {
		return nil, err
	}
	objs := []client.Object{&v1alpha1.FTPSServer{}, &v1alpha1.FTPSUser{}, &corev1.Secret{}}
	for _, gvk := range metadataKinds {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		objs = append(objs, m)
	}
	for _, o := range objs {
		if _, err := c.GetInformer(ctx, o); err != nil {
			return nil, err
		}
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !c.WaitForCacheSync(syncCtx) {
		return nil, fmt.Errorf("the benchmark's cache did not sync")
	}
	return &watcher{cache: c, ns: ns, hashed: map[string]usersFileMemo{}}, nil
}

// progress counts the servers that have every child and an up-to-date
// status, and whose users are all Ready and in the users file. why tells
// what the first unfinished server lacks.
func (w *watcher) progress(ctx context.Context, usersPerServer int) (done, total int, why string, err error) {
	// Read-only use: no deep copies, which would cost the benchmark more CPU
	// than the manager it measures.
	in := &client.ListOptions{Namespace: w.ns, UnsafeDisableDeepCopy: new(true)}
	var servers v1alpha1.FTPSServerList
	if err := w.cache.List(ctx, &servers, in); err != nil {
		return 0, 0, "", err
	}
	var userList v1alpha1.FTPSUserList
	if err := w.cache.List(ctx, &userList, in); err != nil {
		return 0, 0, "", err
	}
	var secrets corev1.SecretList
	if err := w.cache.List(ctx, &secrets, in); err != nil {
		return 0, 0, "", err
	}
	// children: kind -> names present.
	children := map[string]map[string]bool{}
	for _, gvk := range metadataKinds {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := w.cache.List(ctx, l, in); err != nil {
			return 0, 0, "", err
		}
		names := map[string]bool{}
		for _, o := range l.Items {
			names[o.Name] = true
		}
		children[gvk.Kind] = names
	}
	usersOf := map[string][]*v1alpha1.FTPSUser{}
	for i := range userList.Items {
		u := &userList.Items[i]
		usersOf[u.Spec.ServerRef.Name] = append(usersOf[u.Spec.ServerRef.Name], u)
	}
	usersFiles := map[string]usersFileMemo{}
	for i := range secrets.Items {
		sec := &secrets.Items[i]
		m, ok := w.hashed[sec.Name]
		if !ok || m.resourceVersion != sec.ResourceVersion {
			m = parseUsersFile(sec)
			w.hashed[sec.Name] = m
		}
		usersFiles[sec.Name] = m
	}
	for i := range servers.Items {
		srv := &servers.Items[i]
		if problem := serverProblem(srv, usersOf[srv.Name], usersPerServer, usersFiles, children); problem != "" {
			if why == "" {
				why = srv.Name + ": " + problem
			}
			continue
		}
		done++
	}
	return done, len(servers.Items), why, nil
}

// serverProblem is what srv still lacks, or "" when it is complete.
func serverProblem(srv *v1alpha1.FTPSServer, us []*v1alpha1.FTPSUser, usersPerServer int, usersFiles map[string]usersFileMemo, children map[string]map[string]bool) string {
	if len(us) != usersPerServer {
		return fmt.Sprintf("%d of %d FTPSUsers seen", len(us), usersPerServer)
	}
	st := srv.Status
	if st.ObservedGeneration != srv.Generation {
		return fmt.Sprintf("status.observedGeneration %d, generation %d", st.ObservedGeneration, srv.Generation)
	}
	for t, want := range expectedConditions {
		c := meta.FindStatusCondition(st.Conditions, t)
		if c == nil || c.Status != want.status || c.Reason != want.reason || c.ObservedGeneration != srv.Generation {
			return fmt.Sprintf("condition %s is %+v, want %s/%s", t, c, want.status, want.reason)
		}
	}
	n := int(render.Replicas(srv))
	if st.Endpoint == "" || len(st.Passive) != n {
		return "no endpoint or passive addresses in the status"
	}
	for _, p := range st.Passive {
		if p.Address == "" {
			return fmt.Sprintf("replica %d has no passive address", p.Replica)
		}
	}
	want := map[string][]string{
		"Certificate":         {srv.Name},
		"ConfigMap":           {render.ConfigMapName(srv)},
		"StatefulSet":         {srv.Name},
		"PodDisruptionBudget": {srv.Name},
		"Service":             {render.ControlService(srv).Name},
	}
	for _, s := range render.PassiveServices(srv) {
		want["Service"] = append(want["Service"], s.Name)
	}
	for kind, names := range want {
		for _, name := range names {
			if !children[kind][name] {
				return fmt.Sprintf("no %s %s", kind, name)
			}
		}
	}
	file, ok := usersFiles[render.UsersSecretName(srv)]
	if !ok {
		return "no users Secret"
	}
	if file.err != "" {
		return "users file: " + file.err
	}
	for _, u := range us {
		if !file.hashed[u.Spec.Username] {
			return fmt.Sprintf("user %s is not in the users file", u.Spec.Username)
		}
		if u.Status.ObservedGeneration != u.Generation || !meta.IsStatusConditionTrue(u.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Sprintf("FTPSUser %s is not Ready at its generation", u.Name)
		}
	}
	return ""
}

// parseUsersFile reads which users of a users Secret have a password hash.
func parseUsersFile(s *corev1.Secret) usersFileMemo {
	m := usersFileMemo{resourceVersion: s.ResourceVersion, hashed: map[string]bool{}}
	var f users.File
	if err := yaml.Unmarshal(s.Data[render.UsersKey], &f); err != nil {
		m.err = err.Error()
		return m
	}
	for _, u := range f.Users {
		m.hashed[u.Username] = u.PasswordHash != ""
	}
	return m
}
