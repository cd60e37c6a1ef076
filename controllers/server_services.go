package controllers

import (
	"context"
	"net"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// addressRequeue is how often a server whose addresses are not all known
// is looked at again (node addresses are not watched).
const addressRequeue = 30 * time.Second

// reconcileServices applies the control Service and the passive Services,
// deletes passive Services no replica needs any more (scale down, mode
// change), and reads the advertised addresses from their status.
func (r *FTPSServerReconciler) reconcileServices(ctx context.Context, srv *v1alpha1.FTPSServer, apply func(client.Object) error, out *childOutcome) error {
	control := render.ControlService(srv)
	if err := apply(control); err != nil {
		return err
	}
	passive := render.PassiveServices(srv)
	want := map[string]bool{}
	for _, s := range passive {
		want[s.Name] = true
		if err := apply(s); err != nil {
			return err
		}
	}
	if err := r.deleteStalePassiveServices(ctx, srv, want); err != nil {
		return err
	}

	var current []*corev1.Service
	for _, s := range passive {
		cur, err := r.currentService(ctx, s)
		if err != nil {
			return err
		}
		if cur != nil {
			current = append(current, cur)
		}
	}
	addrs, err := r.passiveAddresses(ctx, srv, current)
	if err != nil {
		return err
	}
	out.addresses = addrs

	curControl, err := r.currentService(ctx, control)
	if err != nil {
		return err
	}
	if curControl != nil {
		if out.endpoint, err = r.endpoint(ctx, srv, curControl); err != nil {
			return err
		}
	}
	if out.endpoint == "" || len(addrs) < int(render.Replicas(srv)) {
		out.requeue(addressRequeue)
	}
	return nil
}

// currentService is the Service as the API server holds it: applied is
// that already when this reconcile wrote it (it then has a UID), else the
// cache has it; nil when neither does.
func (r *FTPSServerReconciler) currentService(ctx context.Context, applied *corev1.Service) (*corev1.Service, error) {
	if applied.UID != "" {
		return applied, nil
	}
	cur := &corev1.Service{}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(applied), cur); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return cur, nil
}

func (r *FTPSServerReconciler) deleteStalePassiveServices(ctx context.Context, srv *v1alpha1.FTPSServer, want map[string]bool) error {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(srv.Namespace), client.MatchingLabels{
		render.LabelInstance: srv.Name, render.LabelComponent: render.ComponentPassive,
	}); err != nil {
		return err
	}
	for i := range list.Items {
		s := &list.Items[i]
		if want[s.Name] || !metav1.IsControlledBy(s, srv) || !s.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			return err
		}
		r.Recorder.Eventf(srv, s, corev1.EventTypeNormal, "PassiveServiceDeleted", "DeleteService",
			"deleted passive Service %s, which no replica uses any more", s.Name)
	}
	return nil
}

// passiveAddresses maps each replica ordinal to the address its PASV replies
// advertise: spec.passive.address, else the load balancer's ingress, else
// (NodePort) the address of the node the replica runs on, else (ClusterIP)
// the Service's cluster IP. Ordinals whose address is not known yet are
// absent.
func (r *FTPSServerReconciler) passiveAddresses(ctx context.Context, srv *v1alpha1.FTPSServer, services []*corev1.Service) (map[int32]string, error) {
	addrs := map[int32]string{}
	n := render.Replicas(srv)
	if a := srv.Spec.Passive.Address; a != "" {
		for i := range n {
			addrs[i] = a
		}
		return addrs, nil
	}
	for _, s := range services {
		ordinals := []int32{}
		if render.Shared(srv) {
			for i := range n {
				ordinals = append(ordinals, i)
			}
		} else if v, err := strconv.Atoi(s.Annotations[render.AnnotationReplica]); err == nil && v >= 0 && int32(v) < n {
			ordinals = append(ordinals, int32(v))
		}
		for _, i := range ordinals {
			var addr string
			switch s.Spec.Type {
			case corev1.ServiceTypeLoadBalancer:
				addr = ingressAddress(s)
			case corev1.ServiceTypeNodePort:
				a, err := r.replicaNodeAddress(ctx, srv, i)
				if err != nil {
					return nil, err
				}
				addr = a
			default:
				if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
					addr = s.Spec.ClusterIP
				}
			}
			if addr != "" {
				addrs[i] = addr
			}
		}
	}
	return addrs, nil
}

func ingressAddress(s *corev1.Service) string {
	for _, in := range s.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			return in.IP
		}
		if in.Hostname != "" {
			return in.Hostname
		}
	}
	return ""
}

// replicaNodeAddress is the ExternalIP (else InternalIP) of the node replica
// ordinal's pod runs on, or "" when it is not scheduled yet.
func (r *FTPSServerReconciler) replicaNodeAddress(ctx context.Context, srv *v1alpha1.FTPSServer, ordinal int32) (string, error) {
	pod := &corev1.Pod{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: render.PodName(srv, ordinal)}, pod); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	if pod.Spec.NodeName == "" {
		return "", nil
	}
	node := &corev1.Node{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, node); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	return nodeAddress(node), nil
}

func nodeAddress(node *corev1.Node) string {
	for _, t := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}

// endpoint is the host:port clients connect to, or "" until it is known.
func (r *FTPSServerReconciler) endpoint(ctx context.Context, srv *v1alpha1.FTPSServer, control *corev1.Service) (string, error) {
	port := render.ControlPort(srv)
	switch control.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if a := ingressAddress(control); a != "" {
			return net.JoinHostPort(a, strconv.Itoa(int(port))), nil
		}
		return "", nil
	case corev1.ServiceTypeNodePort:
		idx := slices.IndexFunc(control.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port })
		if idx < 0 || control.Spec.Ports[idx].NodePort == 0 {
			return "", nil
		}
		a, err := r.replicaNodeAddress(ctx, srv, 0)
		if err != nil || a == "" {
			return "", err
		}
		return net.JoinHostPort(a, strconv.Itoa(int(control.Spec.Ports[idx].NodePort))), nil
	default:
		return net.JoinHostPort(srv.Name+"."+srv.Namespace+".svc", strconv.Itoa(int(port))), nil
	}
}
