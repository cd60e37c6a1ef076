package controllers

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

func statusServer() *v1alpha1.FTPSServer {
	return &v1alpha1.FTPSServer{
		ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", Generation: 3},
		Spec: v1alpha1.FTPSServerSpec{
			Replicas: new(int32(2)),
			Passive:  v1alpha1.PassiveSpec{PortRangeStart: 30000, PortsPerReplica: 16},
		},
	}
}

func readySTS() *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 1},
		Status:     appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2},
	}
}

func healthy() *childOutcome {
	return &childOutcome{
		tls:         tlsOutcome{status: metav1.ConditionTrue, reason: ReasonSelfSigned},
		addresses:   map[int32]string{0: "203.0.113.1", 1: "203.0.113.2"},
		endpoint:    "203.0.113.9:21",
		statefulSet: readySTS(),
	}
}

func TestDesiredStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		edit      func(*v1alpha1.FTPSServer, *childOutcome)
		err       error
		want      map[string]string // condition type -> "Status/Reason"
		wantReady string
	}{
		{
			name: "all good",
			want: map[string]string{"ServicesReady": "True/AddressesAssigned", "Available": "True/MinimumReplicasAvailable",
				"Progressing": "False/Stable", "Degraded": "False/AsExpected", "CertificateReady": "True/SelfSigned"},
			wantReady: "True/Ready",
		},
		{
			name: "cert-manager missing",
			edit: func(_ *v1alpha1.FTPSServer, o *childOutcome) {
				o.tls = tlsOutcome{status: metav1.ConditionFalse, reason: ReasonCertManagerNotInstalled, message: "m"}
			},
			want:      map[string]string{"CertificateReady": "False/CertManagerNotInstalled", "Degraded": "True/CertManagerNotInstalled"},
			wantReady: "False/Degraded",
		},
		{
			name: "issuing is progress, not degradation",
			edit: func(_ *v1alpha1.FTPSServer, o *childOutcome) {
				o.tls = tlsOutcome{status: metav1.ConditionFalse, reason: ReasonIssuing}
			},
			want:      map[string]string{"Degraded": "False/AsExpected"},
			wantReady: "False/CertificateNotReady",
		},
		{
			name:      "one passive address missing",
			edit:      func(_ *v1alpha1.FTPSServer, o *childOutcome) { delete(o.addresses, 1) },
			want:      map[string]string{"ServicesReady": "False/AddressPending"},
			wantReady: "False/ServicesNotReady",
		},
		{
			name:      "no StatefulSet yet",
			edit:      func(_ *v1alpha1.FTPSServer, o *childOutcome) { o.statefulSet = nil },
			want:      map[string]string{"Available": "False/NoReplicaReady", "Progressing": "True/RollingOut"},
			wantReady: "False/NotAvailable",
		},
		{
			name: "scaled to zero",
			edit: func(s *v1alpha1.FTPSServer, o *childOutcome) {
				s.Spec.Replicas = new(int32(0))
				o.statefulSet.Status = appsv1.StatefulSetStatus{ObservedGeneration: 1}
			},
			want:      map[string]string{"Available": "False/ScaledToZero", "Progressing": "False/Stable"},
			wantReady: "False/NotAvailable",
		},
		{
			name: "policy missing",
			edit: func(s *v1alpha1.FTPSServer, o *childOutcome) {
				s.Spec.PolicyRef = &v1alpha1.LocalObjectReference{Name: "p"}
				o.policyErr = errors.New("nf")
			},
			want:      map[string]string{"Degraded": "True/PolicyNotFound"},
			wantReady: "False/Degraded",
		},
		{
			name: "client CA Secret missing",
			edit: func(s *v1alpha1.FTPSServer, o *childOutcome) {
				s.Spec.TLS.ClientCA = &v1alpha1.ClientCASource{SecretName: "ca"}
				o.clientCAErr = errors.New("nf")
			},
			want:      map[string]string{"Degraded": "True/ClientCASecretNotFound"},
			wantReady: "False/Degraded",
		},
		{
			name:      "reconcile error",
			err:       errors.New("boom"),
			want:      map[string]string{"Degraded": "True/ReconcileFailed"},
			wantReady: "False/Degraded",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, out := statusServer(), healthy()
			if tc.edit != nil {
				tc.edit(srv, out)
			}
			st := desiredStatus(srv, out, tc.err)
			if st.ObservedGeneration != 3 {
				t.Errorf("observedGeneration %d", st.ObservedGeneration)
			}
			tc.want["Ready"] = tc.wantReady
			for ty, want := range tc.want {
				c := meta.FindStatusCondition(st.Conditions, ty)
				if c == nil {
					t.Errorf("no %s", ty)
					continue
				}
				if got := string(c.Status) + "/" + c.Reason; got != want {
					t.Errorf("%s = %s (%s), want %s", ty, got, c.Message, want)
				}
				if c.ObservedGeneration != 3 {
					t.Errorf("%s observedGeneration %d", ty, c.ObservedGeneration)
				}
			}
		})
	}
}

// TestDesiredStatusStable: computing the status again from the same
// observations changes nothing, lastTransitionTime included, so the
// reconciler writes no status.
func TestDesiredStatusStable(t *testing.T) {
	srv := statusServer()
	first := desiredStatus(srv, healthy(), nil)
	srv.Status = first
	time.Sleep(1100 * time.Millisecond) // lastTransitionTime has second precision
	second := desiredStatus(srv, healthy(), nil)
	for i := range first.Conditions {
		if first.Conditions[i] != second.Conditions[i] {
			t.Errorf("condition %s changed: %+v -> %+v", first.Conditions[i].Type, first.Conditions[i], second.Conditions[i])
		}
	}
	if len(second.Passive) != 2 || second.Passive[1].PortRange != "30016-30031" || second.Passive[1].Address != "203.0.113.2" {
		t.Errorf("passive %+v", second.Passive)
	}
}

func TestPasswordHasherReuses(t *testing.T) {
	h := newPasswordHasher()
	first, reused, err := h.hash("s3cret-password", "")
	if err != nil || reused {
		t.Fatalf("first hash: %v reused=%v", err, reused)
	}
	again, reused, err := h.hash("s3cret-password", first)
	if err != nil || !reused || again != first {
		t.Errorf("unchanged password: reused=%v same=%v err=%v", reused, again == first, err)
	}
	changed, reused, err := h.hash("another-password", first)
	if err != nil || reused || changed == first {
		t.Errorf("changed password: reused=%v err=%v", reused, err)
	}
	// After an operator restart (empty memory) the existing hash is
	// verified once with bcrypt and kept.
	fresh := newPasswordHasher()
	kept, reused, err := fresh.hash("another-password", changed)
	if err != nil || !reused || kept != changed {
		t.Errorf("after restart: reused=%v err=%v", reused, err)
	}
}
