package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// Options choose what the stack runs.
type Options struct {
	// Dir holds kubeconfigs, logs, Pod folders and volumes.
	Dir string
	// Manager and Ftpsd are the built binaries (bin/manager, bin/ftpsd).
	Manager, Ftpsd string
	// WithoutCertManager leaves cert-manager's CRDs out.
	WithoutCertManager bool
}

// Stack is a running stack.
type Stack struct {
	Env        *testenv.Env
	Kubeconfig string
	Kubelet    *ProcessKubelet
	LB         *CloudLoadBalancer
	Client     client.Client
	// CertManager is nil with Options.WithoutCertManager.
	CertManager *CertManager

	kcm     *ControllerManager
	addrs   *addressBlock
	logFile *os.File
	manager *exec.Cmd
	mgrDone chan struct{}
	cancel  context.CancelFunc
	stopped chan struct{}
}

// Start brings the stack up. Stop it with Stop, whatever happens.
func Start(opts Options) (s *Stack, err error) {
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	env, err := testenv.Start(testenv.Options{WithoutCertManager: opts.WithoutCertManager})
	if err != nil {
		return nil, err
	}
	s = &Stack{Env: env, Client: env.Client, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig")}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
			s = nil
		}
	}()
	if err := Kubeconfig(env, "stack-admin", s.Kubeconfig); err != nil {
		return s, err
	}
	if s.kcm, err = StartControllerManager(s.Kubeconfig, filepath.Join(opts.Dir, "kube-controller-manager.log")); err != nil {
		return s, err
	}

	// The stand-ins share one controller-runtime manager in this process,
	// logging to stack.log.
	logf, err := os.Create(filepath.Join(opts.Dir, "stack.log"))
	if err != nil {
		return s, err
	}
	s.logFile = logf
	logger := zap.New(zap.WriteTo(logf))
	ctrl.SetLogger(logger)
	logKlogTo(logf)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  env.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		return s, err
	}
	if s.addrs, err = claimAddressBlock(); err != nil {
		return s, err
	}
	s.Kubelet = &ProcessKubelet{Client: mgr.GetClient(), NodeName: "process-kubelet", Binary: opts.Ftpsd, Dir: opts.Dir, addrs: s.addrs}
	if err := s.Kubelet.SetupWithManager(ctx, mgr); err != nil {
		return s, err
	}
	s.LB = &CloudLoadBalancer{Client: mgr.GetClient(), Kubelet: s.Kubelet}
	if err := s.LB.SetupWithManager(ctx, mgr); err != nil {
		return s, err
	}
	s.stopped = make(chan struct{})
	go func() {
		defer close(s.stopped)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stack: stand-in manager:", err)
		}
	}()

	if !opts.WithoutCertManager {
		kc := filepath.Join(opts.Dir, "cert-manager.kubeconfig")
		if err := Kubeconfig(env, "cert-manager", kc); err != nil {
			return s, err
		}
		startCtx, cancelStart := context.WithTimeout(ctx, 2*time.Minute)
		s.CertManager, err = StartCertManager(startCtx, kc, CertManagerOptions{Logger: logger.WithName("cert-manager")})
		cancelStart()
		if err != nil {
			return s, err
		}
	}

	if err := s.startOperator(opts); err != nil {
		return s, err
	}
	return s, nil
}

func (s *Stack) startOperator(opts Options) error {
	logf, err := os.Create(filepath.Join(opts.Dir, "manager.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(opts.Manager, "--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting the operator: %w", err)
	}
	s.manager, s.mgrDone = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.mgrDone)
	}()
	return nil
}

// Stop ends everything Start started, the operator first and the API
// server last.
func (s *Stack) Stop() error {
	var errs []error
	if s.manager != nil {
		_ = s.manager.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.mgrDone:
		case <-time.After(15 * time.Second):
			_ = s.manager.Process.Kill()
			<-s.mgrDone
		}
	}
	if s.CertManager != nil {
		s.CertManager.Stop()
	}
	if s.cancel != nil {
		s.cancel()
		<-s.stopped
	}
	if s.Kubelet != nil {
		s.Kubelet.StopAll()
	}
	if s.LB != nil {
		s.LB.Close()
	}
	if s.addrs != nil {
		s.addrs.release()
	}
	if s.kcm != nil {
		errs = append(errs, s.kcm.Stop())
	}
	errs = append(errs, s.Env.Stop())
	if s.logFile != nil {
		errs = append(errs, s.logFile.Close())
	}
	return errors.Join(errs...)
}

// logKlogTo sends client-go's and kube's klog output to w instead of stderr.
func logKlogTo(w io.Writer) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(w)
}
