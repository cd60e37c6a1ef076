package render

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

func TestControlService(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edit      func(*v1alpha1.FTPSServer)
		wantPorts map[int32]int32
		wantETP   corev1.ServiceExternalTrafficPolicy
		wantClass string
	}{
		{name: "sample", wantPorts: map[int32]int32{21: 2121, 990: 2990}, wantETP: corev1.ServiceExternalTrafficPolicyLocal},
		{
			name: "implicit off, load balancer class",
			edit: func(s *v1alpha1.FTPSServer) {
				s.Spec.Ports.Implicit = 0
				s.Spec.Service.LoadBalancerClass = new("example.com/lb")
				s.Spec.Service.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
			},
			wantPorts: map[int32]int32{21: 2121}, wantETP: corev1.ServiceExternalTrafficPolicyCluster, wantClass: "example.com/lb",
		},
		{
			name: "ClusterIP has no external traffic policy nor class",
			edit: func(s *v1alpha1.FTPSServer) {
				s.Spec.Service.Type = v1alpha1.ServiceTypeClusterIP
				s.Spec.Service.LoadBalancerClass = new("example.com/lb")
				s.Spec.Service.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
			},
			wantPorts: map[int32]int32{21: 2121, 990: 2990},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sampleServer()
			srv.Spec.Service.Annotations = map[string]string{"lb.example.com/x": "y"}
			if tc.edit != nil {
				tc.edit(srv)
			}
			s := ControlService(srv)
			got := map[int32]int32{}
			for _, p := range s.Spec.Ports {
				got[p.Port] = p.TargetPort.IntVal
			}
			if len(got) != len(tc.wantPorts) {
				t.Errorf("ports %v, want %v", got, tc.wantPorts)
			}
			for k, v := range tc.wantPorts {
				if got[k] != v {
					t.Errorf("port %d -> %d, want %d", k, got[k], v)
				}
			}
			if s.Spec.ExternalTrafficPolicy != tc.wantETP {
				t.Errorf("externalTrafficPolicy %q", s.Spec.ExternalTrafficPolicy)
			}
			class := ""
			if s.Spec.LoadBalancerClass != nil {
				class = *s.Spec.LoadBalancerClass
			}
			if class != tc.wantClass {
				t.Errorf("loadBalancerClass %q", class)
			}
			if s.Spec.Type == corev1.ServiceTypeClusterIP && len(s.Spec.LoadBalancerSourceRanges) != 0 {
				t.Error("source ranges on a ClusterIP Service")
			}
			if s.Annotations["lb.example.com/x"] != "y" {
				t.Errorf("annotations %v", s.Annotations)
			}
		})
	}
}

func TestPassiveServices(t *testing.T) {
	srv := sampleServer()
	srv.Spec.Service.Type = v1alpha1.ServiceTypeNodePort
	svcs := PassiveServices(srv)
	if len(svcs) != 2 {
		t.Fatalf("%d passive Services, want 2", len(svcs))
	}
	for i, s := range svcs {
		if s.Name != PassiveServiceName(srv, int32(i)) {
			t.Errorf("name %q", s.Name)
		}
		if s.Spec.Selector[LabelPodName] != PodName(srv, int32(i)) || s.Spec.Selector[LabelInstance] != "exchange" {
			t.Errorf("selector %v", s.Spec.Selector)
		}
		first, last := ReplicaPortRange(srv, int32(i))
		if len(s.Spec.Ports) != int(last-first+1) || s.Spec.Ports[0].Port != first {
			t.Errorf("replica %d ports %d..", i, s.Spec.Ports[0].Port)
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.IntVal != p.Port || p.NodePort != p.Port {
				t.Errorf("port %d target %d nodePort %d", p.Port, p.TargetPort.IntVal, p.NodePort)
			}
		}
	}

	srv.Spec.Service.Type = v1alpha1.ServiceTypeLoadBalancer
	for _, p := range PassiveService(srv, 0).Spec.Ports {
		if p.NodePort != 0 {
			t.Fatal("nodePort set on a LoadBalancer Service")
		}
	}

	srv.Spec.Passive.Mode = v1alpha1.PassiveModeShared
	svcs = PassiveServices(srv)
	if len(svcs) != 1 || svcs[0].Name != "exchange-pasv" || svcs[0].Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		t.Fatalf("shared: %+v", svcs)
	}
	if len(svcs[0].Spec.Ports) != 32 || svcs[0].Spec.Selector[LabelPodName] != "" {
		t.Errorf("shared ports %d selector %v", len(svcs[0].Spec.Ports), svcs[0].Spec.Selector)
	}
}
