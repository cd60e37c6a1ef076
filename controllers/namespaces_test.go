package controllers_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/controllers"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// startCache starts a cache with the manager's options for namespaces and
// waits (at most 30 s) until it has synced; it stops with the test.
func startCache(t *testing.T, namespaces ...string) (cache.Cache, context.Context) {
	t.Helper()
	opts := controllers.CacheOptions(namespaces...)
	opts.Scheme = k8s.Scheme()
	c, err := cache.New(testCfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx, 30*time.Second)
	t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	return c, ctx
}

// A manager started with --watch-namespaces caches, and so reconciles, the
// FTPS objects and children of those namespaces only, while cluster-scoped
// reads (Nodes) keep working.
func TestCacheWatchNamespaces(t *testing.T) {
	watched, other := namespace(t), namespace(t)
	for _, ns := range []string{watched, other} {
		for _, obj := range []client.Object{
			&v1alpha1.FTPSPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: ns,
				Labels: map[string]string{render.LabelManagedBy: render.FieldOwner}}},
		} {
			if err := k8s.Create(testCtx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, ctx := startCache(t, watched)
	var policies v1alpha1.FTPSPolicyList
	if err := c.List(ctx, &policies); err != nil {
		t.Fatal(err)
	}
	var maps corev1.ConfigMapList
	if err := c.List(ctx, &maps); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, p := range policies.Items {
		seen["policy "+p.Namespace]++
	}
	for _, m := range maps.Items {
		seen["configmap "+m.Namespace]++
	}
	if seen["policy "+watched] != 1 || seen["configmap "+watched] != 1 {
		t.Errorf("the watched namespace's objects are missing from the cache: %v", seen)
	}
	if seen["policy "+other] != 0 || seen["configmap "+other] != 0 {
		t.Errorf("objects of an unwatched namespace are cached: %v", seen)
	}
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		t.Errorf("cluster-scoped Nodes: %v", err)
	}
}

// The cache holds the pods of FTPS servers (labelled from the StatefulSet's
// template) and no others: a cluster's other pods stay out of the manager.
func TestCacheKeepsOnlyOurPods(t *testing.T) {
	ns := namespace(t)
	container := []corev1.Container{{Name: "c", Image: "example.invalid/none"}}
	for name, labels := range map[string]map[string]string{
		"ours":   {render.LabelManagedBy: render.FieldOwner},
		"theirs": {"app": "other"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: container}}
		if err := k8s.Create(testCtx, pod); err != nil {
			t.Fatal(err)
		}
	}
	c, ctx := startCache(t, ns)
	var pod corev1.Pod
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ours"}, &pod); err != nil {
		t.Errorf("our pod: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "theirs"}, &pod); err == nil {
		t.Error("a pod without the managed-by label is cached")
	}
}
