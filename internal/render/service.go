package render

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// serviceBase is what the control and passive Services share: type,
// annotations, load balancer class, traffic policy and source ranges.
func serviceBase(srv *v1alpha1.FTPSServer, name, component string, selector map[string]string) *corev1.Service {
	t := srv.Spec.Service.TypeOrDefault()
	s := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   srv.Namespace,
			Labels:      Labels(srv, component),
			Annotations: maps.Clone(srv.Spec.Service.Annotations),
		},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceType(t),
			Selector: selector,
		},
	}
	if t != v1alpha1.ServiceTypeClusterIP {
		s.Spec.ExternalTrafficPolicy = srv.Spec.Service.ExternalTrafficPolicyOrDefault()
	}
	if t == v1alpha1.ServiceTypeLoadBalancer {
		if c := srv.Spec.Service.LoadBalancerClass; c != nil {
			s.Spec.LoadBalancerClass = new(*c)
		}
		s.Spec.LoadBalancerSourceRanges = slices.Clone(srv.Spec.Service.LoadBalancerSourceRanges)
	}
	return s
}

// ControlService is the Service <name>: the explicit FTPS port and, when
// on, the implicit one, load balanced over every replica.
func ControlService(srv *v1alpha1.FTPSServer) *corev1.Service {
	s := serviceBase(srv, srv.Name, ComponentServer, SelectorLabels(srv))
	s.Spec.Ports = []corev1.ServicePort{{
		Name: "ftp", Protocol: corev1.ProtocolTCP,
		Port: srv.Spec.Ports.ControlOrDefault(), TargetPort: intstr.FromInt32(PodControlPort),
	}}
	if p := srv.Spec.Ports.Implicit; p != 0 {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{
			Name: "ftps", Protocol: corev1.ProtocolTCP,
			Port: p, TargetPort: intstr.FromInt32(PodImplicitPort),
		})
	}
	return s
}

func passivePorts(srv *v1alpha1.FTPSServer, first, last int32) []corev1.ServicePort {
	nodePort := srv.Spec.Service.TypeOrDefault() == v1alpha1.ServiceTypeNodePort
	ports := make([]corev1.ServicePort, 0, last-first+1)
	for p := first; p <= last; p++ {
		sp := corev1.ServicePort{
			Name: fmt.Sprintf("pasv-%d", p), Protocol: corev1.ProtocolTCP,
			Port: p, TargetPort: intstr.FromInt32(p),
		}
		if nodePort {
			// The client dials the port the 227 reply names: the same number
			// on the node as in the pod.
			sp.NodePort = p
		}
		ports = append(ports, sp)
	}
	return ports
}

// PassiveService is replica ordinal's Service <name>-pasv-<i>: only that
// pod, only its slice of the passive range, each port on the same number.
func PassiveService(srv *v1alpha1.FTPSServer, ordinal int32) *corev1.Service {
	sel := SelectorLabels(srv)
	sel[LabelPodName] = PodName(srv, ordinal)
	s := serviceBase(srv, PassiveServiceName(srv, ordinal), ComponentPassive, sel)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationReplica] = strconv.Itoa(int(ordinal))
	// A pod that is not ready yet may already have answered PASV for a
	// session in flight; keep its data ports reachable.
	s.Spec.PublishNotReadyAddresses = true
	first, last := ReplicaPortRange(srv, ordinal)
	s.Spec.Ports = passivePorts(srv, first, last)
	return s
}

// SharedPassiveService is the one passive Service <name>-pasv of Shared
// mode: every pod, the whole range, with client affinity so that a client's
// data connections reach the pod its control connection reached.
func SharedPassiveService(srv *v1alpha1.FTPSServer) *corev1.Service {
	s := serviceBase(srv, SharedPassiveServiceName(srv), ComponentPassive, SelectorLabels(srv))
	s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	first, last := WholePortRange(srv)
	s.Spec.Ports = passivePorts(srv, first, last)
	return s
}

// PassiveServices are every passive Service srv should have.
func PassiveServices(srv *v1alpha1.FTPSServer) []*corev1.Service {
	if Shared(srv) {
		return []*corev1.Service{SharedPassiveService(srv)}
	}
	out := make([]*corev1.Service, 0, Replicas(srv))
	for i := range Replicas(srv) {
		out = append(out, PassiveService(srv, i))
	}
	return out
}
