package render

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

const testImage = "ghcr.io/ftps-operator/ftpsd:v0.1.0"

func TestStatefulSetGolden(t *testing.T) {
	srv := sampleServer()
	srv.Spec.TLS.ClientCA = &v1alpha1.ClientCASource{SecretName: "partners-ca", Key: "ca.crt"}
	srv.Spec.Pod = v1alpha1.PodSpec{
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		NodeSelector:      map[string]string{"kubernetes.io/os": "linux"},
		Tolerations:       []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "ftps", Effect: corev1.TaintEffectNoSchedule}},
		Annotations:       map[string]string{"example.com/team": "files"},
		Labels:            map[string]string{"team": "files"},
		PriorityClassName: "ftps-high",
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
		}},
	}
	// A fixed hash: RestartHash has its own test, and the golden file should
	// not change with every new field of ftpsd.yaml.
	sts := StatefulSet(srv, testImage, "0123456789abcdef")
	golden(t, "statefulset.yaml", toYAML(t, sts))
}

func TestStatefulSetTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*v1alpha1.FTPSServer)
		check func(*testing.T, *appsv1.StatefulSet)
	}{
		{
			name: "default image and claim template",
			check: func(t *testing.T, s *appsv1.StatefulSet) {
				c := s.Spec.Template.Spec.Containers[0]
				if c.Image != testImage {
					t.Errorf("image %q", c.Image)
				}
				if len(s.Spec.VolumeClaimTemplates) != 1 || s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String() != "10Gi" {
					t.Errorf("claims %+v", s.Spec.VolumeClaimTemplates)
				}
				if s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement || *s.Spec.Replicas != 2 {
					t.Errorf("policy %q replicas %d", s.Spec.PodManagementPolicy, *s.Spec.Replicas)
				}
				r := s.Spec.PersistentVolumeClaimRetentionPolicy
				if r.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || r.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
					t.Errorf("retention %+v", r)
				}
			},
		},
		{
			name: "image from the spec",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.Image = "example.com/ftpsd:dev" },
			check: func(t *testing.T, s *appsv1.StatefulSet) {
				if got := s.Spec.Template.Spec.Containers[0].Image; got != "example.com/ftpsd:dev" {
					t.Errorf("image %q", got)
				}
			},
		},
		{
			name: "existing claim and Delete reclaim policy",
			edit: func(s *v1alpha1.FTPSServer) {
				s.Spec.Storage.ExistingClaim = "shared-files"
				s.Spec.Storage.ReclaimPolicy = v1alpha1.ReclaimDelete
			},
			check: func(t *testing.T, s *appsv1.StatefulSet) {
				if len(s.Spec.VolumeClaimTemplates) != 0 {
					t.Error("claim template with existingClaim")
				}
				found := false
				for _, v := range s.Spec.Template.Spec.Volumes {
					if v.Name == DataVolume && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "shared-files" {
						found = true
					}
				}
				if !found {
					t.Error("no data volume from the existing claim")
				}
				r := s.Spec.PersistentVolumeClaimRetentionPolicy
				if r.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType || r.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
					t.Errorf("retention %+v", r)
				}
			},
		},
		{
			name: "brought TLS Secret is mounted",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.TLS.IssuerRef = nil; s.Spec.TLS.SecretName = "my-cert" },
			check: func(t *testing.T, s *appsv1.StatefulSet) {
				for _, v := range s.Spec.Template.Spec.Volumes {
					if v.Name == volTLS && v.Secret.SecretName != "my-cert" {
						t.Errorf("tls volume from %q", v.Secret.SecretName)
					}
				}
			},
		},
		{
			name: "implicit off has no implicit port",
			edit: func(s *v1alpha1.FTPSServer) { s.Spec.Ports.Implicit = 0 },
			check: func(t *testing.T, s *appsv1.StatefulSet) {
				for _, p := range s.Spec.Template.Spec.Containers[0].Ports {
					if p.ContainerPort == PodImplicitPort {
						t.Error("implicit port with implicit off")
					}
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := sampleServer()
			if tc.edit != nil {
				tc.edit(srv)
			}
			sts := StatefulSet(srv, testImage, "hash")
			tc.check(t, sts)
			// Invariants for every case.
			for _, m := range sts.Spec.Template.Spec.Containers[0].VolumeMounts {
				if m.SubPath != "" || m.SubPathExpr != "" {
					t.Errorf("mount %s uses subPath: the kubelet would never update it", m.Name)
				}
				if m.Name != DataVolume && m.Name != volTmp && !m.ReadOnly {
					t.Errorf("mount %s is writable", m.Name)
				}
			}
			if sts.Spec.Template.Annotations[AnnotationRestartHash] != "hash" {
				t.Error("no restart hash annotation")
			}
		})
	}
}

// TestPodTemplatePassesRestricted evaluates the pod template with the Pod
// Security admission library at the "restricted" level, latest version.
func TestPodTemplatePassesRestricted(t *testing.T) {
	eval, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	for name, edit := range map[string]func(*v1alpha1.FTPSServer){
		"sample":         func(*v1alpha1.FTPSServer) {},
		"client CA":      func(s *v1alpha1.FTPSServer) { s.Spec.TLS.ClientCA = &v1alpha1.ClientCASource{SecretName: "ca"} },
		"existing claim": func(s *v1alpha1.FTPSServer) { s.Spec.Storage.ExistingClaim = "files" },
	} {
		t.Run(name, func(t *testing.T) {
			srv := sampleServer()
			edit(srv)
			tmpl := StatefulSet(srv, testImage, "h").Spec.Template
			res := psapolicy.AggregateCheckResults(eval.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec))
			if !res.Allowed {
				t.Errorf("restricted profile refuses the pod: %s: %s", res.ForbiddenReason(), res.ForbiddenDetail())
			}
		})
	}
}
