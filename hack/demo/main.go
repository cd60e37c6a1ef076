// Command demo runs ftps-operator on this machine, for `make demo`: a real
// kube-apiserver and etcd with the CRDs installed, the manager (bin/manager)
// reconciling config/samples, and ftpsd (bin/ftpsd) serving FTPS on
// 127.0.0.1:2121. It runs until Ctrl-C and stops everything it started.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

const namespace = "demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) (err error) {
	root := testenv.RepoRoot()
	state := filepath.Join(root, "bin", "demo")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}

	fmt.Println(">> starting kube-apiserver and etcd (bin/k8s) with the CRDs")
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println(">> stopping kube-apiserver and etcd")
		err = errors.Join(err, env.Stop())
	}()

	kubeconfig := filepath.Join(state, "kubeconfig")
	if err := writeKubeconfig(env, kubeconfig); err != nil {
		return err
	}

	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	files, err := testenv.SampleFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		objs, err := testenv.ApplyFile(ctx, env.Client, namespace, f)
		if err != nil {
			return err
		}
		for _, o := range objs {
			fmt.Printf("   applied %s/%s\n", o.GetKind(), o.GetName())
		}
	}

	procs := &processes{}
	defer procs.stopAll()

	fmt.Println(">> starting the manager (bin/manager)")
	mgr := exec.Command(filepath.Join(root, "bin", "manager"),
		"--leader-elect=false",
		"--metrics-bind-address=127.0.0.1:18080",
		"--health-probe-bind-address=127.0.0.1:18081")
	mgr.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	mgrLog, err := os.Create(filepath.Join(state, "manager.log"))
	if err != nil {
		return err
	}
	defer mgrLog.Close()
	mgr.Stdout, mgr.Stderr = mgrLog, mgrLog
	if err := procs.start(mgr); err != nil {
		return err
	}

	fmt.Println(">> starting ftpsd (bin/ftpsd) in demo mode")
	ftpsd := exec.Command(filepath.Join(root, "bin", "ftpsd"), "--root", filepath.Join(state, "ftp-data"))
	ftpsd.Stdout, ftpsd.Stderr = os.Stdout, os.Stderr
	if err := procs.start(ftpsd); err != nil {
		return err
	}

	// Give the manager a moment, then show what it made of the samples.
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(5 * time.Second):
	}
	showServers(ctx, env.Client)

	fmt.Printf(`
The API server is yours to explore (the manager's log is %s):
  export KUBECONFIG=%s
  kubectl get ftps -n %s
  kubectl explain ftpsserver.spec.passive
ftpsd's login and curl command are printed above; with lftp:
  lftp -u demo -e 'set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; ls; bye' 127.0.0.1:2121

Press Ctrl-C to stop everything.
`, filepath.Join(state, "manager.log"), kubeconfig, namespace)

	select {
	case <-ctx.Done():
	case err := <-procs.exited:
		return fmt.Errorf("a process stopped on its own: %w", err)
	}
	fmt.Println("\n>> stopping")
	return nil
}

// writeKubeconfig adds an admin user to the control plane and writes its
// kubeconfig, so kubectl and the manager can talk to the API server.
func writeKubeconfig(env *testenv.Env, path string) error {
	u, err := env.Environment.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, kc, 0o600)
}

func showServers(ctx context.Context, c client.Client) {
	var list ftpsv1alpha1.FTPSServerList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		fmt.Println("   listing FTPSServers:", err)
		return
	}
	for _, s := range list.Items {
		fmt.Printf("   FTPSServer %s (generation %d, observed %d)\n", s.Name, s.Generation, s.Status.ObservedGeneration)
		for _, cond := range s.Status.Conditions {
			fmt.Printf("     %-17s %-6s %s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
}

// processes are the children the demo started; stopAll ends them with
// SIGTERM, then SIGKILL after a bounded wait.
type processes struct {
	cmds   []*exec.Cmd
	done   []chan struct{}
	exited chan error
}

func (p *processes) start(cmd *exec.Cmd) error {
	if p.exited == nil {
		p.exited = make(chan error, 8)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w (run 'make build')", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(done)
		select {
		case p.exited <- fmt.Errorf("%s: %v", filepath.Base(cmd.Path), err):
		default:
		}
	}()
	p.cmds = append(p.cmds, cmd)
	p.done = append(p.done, done)
	return nil
}

func (p *processes) stopAll() {
	for i := len(p.cmds) - 1; i >= 0; i-- {
		_ = p.cmds[i].Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done[i]:
		case <-time.After(30 * time.Second):
			_ = p.cmds[i].Process.Kill()
			<-p.done[i]
		}
	}
}
