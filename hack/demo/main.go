// Command demo runs ftps-operator's whole stack on this machine, for `make
// demo`: a real kube-apiserver, etcd and kube-controller-manager,
// cert-manager's controllers, the operator, and ftpsd processes standing in
// for the Pods (test/stack). It applies config/samples, waits until the
// sample server is Ready, prints how to connect, and runs until Ctrl-C,
// then stops everything it started.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
	"github.com/ftps-operator/ftps-operator/test/stack"
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

func run(ctx context.Context) error {
	dir := filepath.Join(testenv.RepoRoot(), "bin", "demo")
	_ = os.RemoveAll(dir)
	fmt.Println(">> building the operator and ftpsd")
	opts, err := stack.BuildBinaries(dir)
	if err != nil {
		return err
	}
	fmt.Println(">> starting kube-apiserver, etcd, kube-controller-manager, cert-manager and the operator")
	st, err := stack.Start(opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println(">> stopping everything")
		if err := st.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: stopping:", err)
		}
	}()

	if err := st.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Ports below 1024 need root; without it the sample listens on 2121/2990.
	var edits []string
	if os.Geteuid() != 0 {
		edits = []string{"control: 21\n", "control: 2121\n", "implicit: 990\n", "implicit: 2990\n"}
	}
	files, err := testenv.SampleFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		edited := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(edited, []byte(strings.NewReplacer(edits...).Replace(string(data))), 0o600); err != nil {
			return err
		}
		objs, err := st.ApplyFile(ctx, namespace, edited)
		if err != nil {
			return err
		}
		for _, o := range objs {
			fmt.Printf("   applied %s/%s\n", o.GetKind(), o.GetName())
		}
	}

	fmt.Println(">> waiting for FTPSServer exchange to be Ready")
	srv, err := waitReady(ctx, st.Client)
	if err != nil {
		return err
	}
	caFile := filepath.Join(dir, "ca.crt")
	ca := &corev1.Secret{}
	if err := st.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "ftps-ca"}, ca); err != nil {
		return err
	}
	if err := os.WriteFile(caFile, ca.Data["ca.crt"], 0o644); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(srv.Status.Endpoint)
	replica0 := ""
	if len(srv.Status.Passive) > 0 {
		replica0 = srv.Status.Passive[0].Address
	}
	fmt.Printf(`
FTPSServer exchange is Ready at %[1]s (2 replicas, certificate from the sample CA).
Log in as alice, password change-me-to-something-long (config/samples/ftps_v1alpha1_ftpsuser.yaml).

  curl --cacert %[2]s --ssl-reqd --resolve ftps.example.com:%[4]s:%[3]s \
       --disable-epsv --no-ftp-skip-pasv-ip -u alice:change-me-to-something-long \
       ftp://ftps.example.com:%[4]s/

  lftp -e 'set ssl:ca-file %[2]s; set ssl:check-hostname no; set ftp:ssl-force true; set ftp:ssl-protect-data true' \
       -u alice,change-me-to-something-long %[5]s:2121

(curl: --resolve stands in for DNS, and each replica answers PASV with its own
address; lftp replaces any 127.x passive address but 127.0.0.1 with the one it
connected to, so here it talks to replica 0 directly.)

The cluster is yours to explore:
  export KUBECONFIG=%[6]s
  %[7]s get ftps,pods,svc -n %[8]s
Logs: %[9]s (manager.log, kube-controller-manager.log, stack.log, pods/*/ftpsd.log)

Press Ctrl-C to stop everything.
`, srv.Status.Endpoint, caFile, host, port, replica0, st.Kubeconfig,
		filepath.Join(testenv.AssetsDirOrDefault(), "kubectl"), namespace, dir)
	<-ctx.Done()
	return nil
}

// waitReady waits (at most five minutes) for the sample server.
func waitReady(ctx context.Context, c client.Client) (*ftpsv1alpha1.FTPSServer, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	srv := &ftpsv1alpha1.FTPSServer{}
	for {
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "exchange"}, srv); err == nil {
			cond := meta.FindStatusCondition(srv.Status.Conditions, ftpsv1alpha1.ConditionReady)
			if cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == srv.Generation {
				return srv, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("FTPSServer exchange not Ready: %v (conditions %+v)", ctx.Err(), srv.Status.Conditions)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
