package controllers_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// TestNodePortAddresses: with NodePort Services each replica advertises the
// address of the node its pod runs on (ExternalIP, else InternalIP), and
// every passive port is the same number on the node.
func TestNodePortAddresses(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "np")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	srv.Spec.Service.Type = v1alpha1.ServiceTypeNodePort
	// The API server hands out dynamic nodePorts (the other tests' load
	// balancers) from the top of the range first; 30040-30071 lies in the
	// band kept for static requests, so they never collide.
	srv.Spec.Passive.PortRangeStart = 30040
	create(t, srv)
	// The pods as the StatefulSet makes them: with its template's labels,
	// without which the manager's cache does not hold them.
	sts := &appsv1.StatefulSet{}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "StatefulSet", func() error { return get(ns, "np", sts) })

	for i, addrs := range [][]corev1.NodeAddress{
		{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeExternalIP, Address: "198.51.100.1"}},
		{{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}},
	} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-node-%d", ns, i)}}
		create(t, node)
		node.Status.Addresses = addrs
		if err := k8s.Status().Update(testCtx, node); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("np-%d", i), Labels: sts.Spec.Template.Labels},
			Spec: corev1.PodSpec{
				NodeName:   node.Name,
				Containers: []corev1.Container{{Name: "ftpsd", Image: testImage}},
			},
		}
		create(t, pod)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "node addresses in the ConfigMap", func() error {
		poke(t, ns, "np")
		c, _, err := renderedConfig(ns, "np")
		if err != nil {
			return err
		}
		if c.Passive.AddressFor(0) != "198.51.100.1" || c.Passive.AddressFor(1) != "10.0.0.2" {
			return fmt.Errorf("addresses %v", c.Passive.Addresses)
		}
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "np", cur); err != nil {
			return err
		}
		ctl := &corev1.Service{}
		if err := get(ns, "np", ctl); err != nil {
			return err
		}
		if want := fmt.Sprintf("198.51.100.1:%d", ctl.Spec.Ports[0].NodePort); cur.Status.Endpoint != want {
			return fmt.Errorf("endpoint %q, want %q", cur.Status.Endpoint, want)
		}
		return nil
	})
	s := &corev1.Service{}
	if err := get(ns, render.PassiveServiceName(srv, 1), s); err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Spec.Ports {
		if p.NodePort != p.Port || p.TargetPort.IntVal != p.Port {
			t.Errorf("port %d: nodePort %d targetPort %s", p.Port, p.NodePort, p.TargetPort.String())
		}
	}
}
