package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// controllerManagerControllers are the kube-controller-manager controllers
// the stack needs: StatefulSets make Pods, the garbage collector deletes
// owned objects, EndpointSlices follow ready Pods, namespaces get their
// default ServiceAccount. No node lifecycle controller: the process kubelet
// sends no heartbeats.
var controllerManagerControllers = []string{
	"statefulset-controller",
	"garbage-collector-controller",
	"endpointslice-controller",
	"serviceaccount-controller",
	"disruption-controller",
	"namespace-controller",
	"persistentvolumeclaim-protection-controller",
}

// Kubeconfig adds an admin user to envtest's control plane and writes its
// kubeconfig to path.
func Kubeconfig(env *testenv.Env, name, path string) error {
	u, err := env.Environment.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, kc, 0o600)
}

// ControllerManager is a kube-controller-manager process.
type ControllerManager struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartControllerManager runs bin/k8s/<version>/kube-controller-manager
// against the API server of kubeconfig, logging to logPath.
func StartControllerManager(kubeconfig, logPath string) (*ControllerManager, error) {
	bin := filepath.Join(testenv.AssetsDirOrDefault(), "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: %w (run 'hack/build-envtest.sh kube-controller-manager')", bin, err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--controllers="+strings.Join(controllerManagerControllers, ","),
		"--concurrent-gc-syncs=5",
		"--v=1",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	cm := &ControllerManager{cmd: cmd, done: make(chan struct{})}
	go func() {
		cm.err = cmd.Wait()
		logf.Close()
		close(cm.done)
	}()
	// Fail early when it cannot start (bad flag, unreachable API server).
	select {
	case <-cm.done:
		return nil, fmt.Errorf("kube-controller-manager exited at once: %v (see %s)", cm.err, logPath)
	case <-time.After(time.Second):
	}
	return cm, nil
}

// Stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (cm *ControllerManager) Stop() error {
	_ = cm.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cm.done:
	case <-time.After(10 * time.Second):
		_ = cm.cmd.Process.Kill()
		<-cm.done
	}
	var exit *exec.ExitError
	if cm.err != nil && !errors.As(cm.err, &exit) {
		return cm.err
	}
	return nil
}
