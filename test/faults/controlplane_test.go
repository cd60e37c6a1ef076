package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// TestControlPlaneRestart restarts the control plane under a running
// manager with two reconciled servers, and changes a spec right after it is
// back: the manager keeps running, and converges to the new spec with an
// honest status. kube-apiserver alone comes back on the same port with the
// same certificates (startControlPlane chose its folder); with etcd, the
// data comes back from etcd's data folder, on the same client URL.
func TestControlPlaneRestart(t *testing.T) {
	ns := namespace(t)
	m := startManager(t, ns)
	servers := map[string]map[string]string{}
	for _, name := range []string{"left", "right"} {
		secret, user := newUser(ns, name, "alice", "password-of-"+name)
		create(t, secret, user, newServer(ns, name, 2))
		servers[name] = map[string]string{"alice": "password-of-" + name}
	}
	waitAllConverged(t, 2*time.Minute, ns, servers)
	cp := &env.ControlPlane

	t.Run("kube-apiserver", func(t *testing.T) {
		outage(t, cp.APIServer)
		updateServer(t, ns, "left", func(s *v1alpha1.FTPSServer) {
			s.Spec.Replicas = new(int32(3))
			s.Spec.Limits.MaxSessions = 77
		})
		waitAllConverged(t, 2*time.Minute, ns, servers)
		m.running(t)
	})

	t.Run("kube-apiserver and etcd", func(t *testing.T) {
		before := &v1alpha1.FTPSServer{}
		if err := get(ns, "right", before); err != nil {
			t.Fatal(err)
		}
		outage(t, cp.APIServer, cp.Etcd)
		// etcd kept its data: the same server, not a new one.
		after := &v1alpha1.FTPSServer{}
		if err := get(ns, "right", after); err != nil {
			t.Fatal(err)
		}
		if after.UID != before.UID {
			t.Fatalf("server right has a new UID after the restart: %s, was %s", after.UID, before.UID)
		}
		updateServer(t, ns, "right", func(s *v1alpha1.FTPSServer) {
			s.Spec.Replicas = new(int32(1))
			s.Spec.Ports.Implicit = 0
		})
		waitAllConverged(t, 2*time.Minute, ns, servers)
		m.running(t)
	})

	t.Run("etcd under a running kube-apiserver", func(t *testing.T) {
		// kube-apiserver answers meanwhile, but can neither read nor write.
		outage(t, cp.Etcd)
		updateServer(t, ns, "left", func(s *v1alpha1.FTPSServer) {
			s.Spec.Passive.PortRangeStart = 31000
		})
		waitAllConverged(t, 2*time.Minute, ns, servers)
		m.running(t)
	})
}

// process is a control-plane process envtest runs.
type process interface {
	Start() error
	Stop() error
}

// outage stops procs in order, waits long enough for the manager's
// watches and requests to fail, and starts them again in reverse order;
// it starts them whatever happened while stopping them, so that a failure
// here does not leave the package without a control plane. A process that
// has not exited envtest's stop timeout after SIGTERM is killed (SIGKILL)
// and envtest says so with an error: killed is stopped too, a harder fault,
// so that is only logged. (kube-apiserver stops listening at once on
// SIGTERM, but with watches open it often does not exit within seconds.)
func outage(t *testing.T, procs ...process) {
	t.Helper()
	for _, p := range procs {
		name := fmt.Sprintf("%T", p)
		if err := p.Stop(); err != nil {
			if !strings.Contains(err.Error(), "timeout waiting for process") {
				t.Errorf("stopping %s: %v", name, err)
			}
			t.Logf("%s had not exited after SIGTERM and was killed: %v", name, err)
		}
	}
	time.Sleep(3 * time.Second)
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Start(); err != nil {
			t.Fatalf("starting %T again: %v", procs[i], err)
		}
	}
}
