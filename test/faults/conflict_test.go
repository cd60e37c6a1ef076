package faults

import (
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// rivalWrites bounds how many writes the rival client sends.
const rivalWrites = 60

// TestConflictingWrites: while the operator reconciles, another client (a
// field manager of its own) keeps rewriting fields the operator owns on
// the children (ftpsd.yaml, the StatefulSet's replicas, the control
// Service's port) and the server's spec changes several times. In the end
// the children are what the last spec renders to, the status is current,
// and nothing keeps writing (no fight between field managers).
func TestConflictingWrites(t *testing.T) {
	ns := namespace(t)
	startManager(t, ns)
	passwords := convergedServer(t, ns, "contested")

	rival := client.WithFieldOwner(k8s, "rival")
	type tally struct{ written, conflicts, failed int }
	var (
		wg  sync.WaitGroup
		got tally
	)
	wg.Go(func() {
		for i := range rivalWrites {
			var err error
			switch i % 3 {
			case 0:
				cm := &corev1.ConfigMap{}
				if err = get(ns, "contested-config", cm); err == nil {
					cm.Data = map[string]string{render.ConfigKey: fmt.Sprintf("listen: \":%d\"\n", 3000+i)}
					err = rival.Update(bgCtx, cm)
				}
			case 1:
				sts := &appsv1.StatefulSet{}
				if err = get(ns, "contested", sts); err == nil {
					sts.Spec.Replicas = new(int32(7))
					err = rival.Update(bgCtx, sts)
				}
			case 2:
				svc := &corev1.Service{}
				if err = get(ns, "contested", svc); err == nil {
					svc.Spec.Ports[0].Port = 2121
					err = rival.Update(bgCtx, svc)
				}
			}
			switch {
			case err == nil:
				got.written++
			case apierrors.IsConflict(err):
				got.conflicts++
			default:
				got.failed++
			}
			time.Sleep(25 * time.Millisecond)
		}
	})

	// Meanwhile the spec changes; the last change is what must hold.
	edits := []func(*v1alpha1.FTPSServer){
		func(s *v1alpha1.FTPSServer) { s.Spec.Replicas = new(int32(3)) },
		func(s *v1alpha1.FTPSServer) { s.Spec.Limits.MaxSessions = 10 },
		func(s *v1alpha1.FTPSServer) { s.Spec.Ports.Control = 2100 },
		func(s *v1alpha1.FTPSServer) { s.Spec.Replicas = new(int32(1)) },
		func(s *v1alpha1.FTPSServer) { s.Spec.Limits.MaxSessions = 20 },
	}
	for _, edit := range edits {
		updateServer(t, ns, "contested", edit)
		time.Sleep(300 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("the rival wrote %d times, lost %d conflicts, %d other errors", got.written, got.conflicts, got.failed)
	if got.written == 0 {
		t.Fatal("the rival never wrote: nothing was tested")
	}

	waitConverged(t, 2*time.Minute, ns, "contested", passwords)
	srv := &v1alpha1.FTPSServer{}
	if err := get(ns, "contested", srv); err != nil {
		t.Fatal(err)
	}
	if *srv.Spec.Replicas != 1 || srv.Spec.Limits.MaxSessions != 20 || srv.Spec.Ports.Control != 2100 {
		t.Fatalf("the spec is not the last edit's: %+v", srv.Spec)
	}
	// No field manager keeps rewriting: the namespace stays quiet.
	quiet(t, ns, 3*time.Second)
}
