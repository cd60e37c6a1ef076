// Command operator measures the ftps-operator at scale (issue #7): in
// envtest it creates N FTPSServers with their users and times how long the
// real manager, running as a process of its own, takes until every server
// has all its children and an up-to-date status. It reads the manager's
// peak memory from /proc, counts the API writes per server from
// kube-apiserver's /metrics, restarts the manager to show that a full
// resync writes nothing, and compares the time with a plain client that
// creates the same objects.
//
//	go run ./bench/operator [-servers 1000] [-out DIR]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
	"github.com/ftps-operator/ftps-operator/test/stack"
)

type options struct {
	servers, usersPerServer, replicas int
	workers                           int
	out, manager, managerFlags        string
	timeout                           time.Duration
	sequential, skipReference         bool
}

func main() {
	var o options
	flag.IntVar(&o.servers, "servers", 1000, "how many FTPSServers")
	flag.IntVar(&o.usersPerServer, "users", 1, "FTPSUsers (each with a password Secret) per server")
	flag.IntVar(&o.replicas, "replicas", 1, "replicas per server: one passive Service each")
	flag.IntVar(&o.workers, "workers", 4, "the manager's --max-concurrent-reconciles, and the plain client's parallelism")
	flag.StringVar(&o.out, "out", "", "folder for targets.tsv, operator.json and the logs (default: a new temporary folder)")
	flag.StringVar(&o.manager, "manager", "", "a built manager binary (default: build main.go)")
	flag.StringVar(&o.managerFlags, "manager-flags", "", "extra manager flags, space separated (default: --max-concurrent-reconciles=<workers>)")
	flag.DurationVar(&o.timeout, "timeout", 12*time.Minute, "the whole run stops after this long")
	flag.BoolVar(&o.sequential, "sequential", false, "also time the plain client with one worker (about as long again as the parallel one)")
	flag.BoolVar(&o.skipReference, "skip-reference", false, "skip the plain-client reference")
	flag.Parse()
	if o.servers < 1 || o.usersPerServer < 0 || o.replicas < 1 || o.workers < 1 {
		fmt.Fprintln(os.Stderr, "operator: -servers, -replicas and -workers must be at least 1")
		os.Exit(2)
	}
	// envtest and client-go log through controller-runtime's logger: keep
	// them quiet unless something is wrong.
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		os.Exit(1)
	}
}

// results are every raw figure of a run (operator.json).
type results struct {
	Started        time.Time `json:"started"`
	Servers        int       `json:"servers"`
	UsersPerServer int       `json:"usersPerServer"`
	Replicas       int       `json:"replicas"`
	Workers        int       `json:"workers"`
	CPUs           int       `json:"cpus"`
	ManagerFlags   []string  `json:"managerFlags"`
	UpToDate       string    `json:"upToDateDefinition"`

	Reference struct {
		Seconds           float64            `json:"seconds"`
		CPUSeconds        map[string]float64 `json:"cpuSeconds"`
		SequentialSeconds float64            `json:"sequentialSeconds,omitempty"`
		Writes            writeCounts        `json:"writes"`
		WritesByResource  map[string]float64 `json:"writesByResource"`
		WritesPerServer   float64            `json:"writesPerServer"`
	} `json:"reference"`

	Operator struct {
		Seconds          float64            `json:"seconds"`
		CPUSeconds       map[string]float64 `json:"cpuSeconds"`
		CreateSeconds    float64            `json:"createInputsSeconds"`
		PeakRSSMiB       float64            `json:"peakRSSMiB"`
		GoMemory         map[string]float64 `json:"goMemoryBytesAtEnd"`
		EndRSSMiB        float64            `json:"endRSSMiB"`
		Writes           writeCounts        `json:"writes"`
		WritesByResource map[string]float64 `json:"writesByResource"`
		WritesPerServer  float64            `json:"writesPerServer"`
		ClientWrites     map[string]float64 `json:"managerClientWrites"`
		Reconciles       map[string]float64 `json:"reconciles"`
		OtherAPIWrites   writeCounts        `json:"otherAPIWrites"`
		ResyncSeconds    float64            `json:"resyncSeconds"`
		ResyncPeakRSSMiB float64            `json:"resyncPeakRSSMiB"`
		ResyncWrites     writeCounts        `json:"resyncWrites"`
		ResyncWritesPer  float64            `json:"resyncWritesPerServer"`
		ResyncReconciles map[string]float64 `json:"resyncReconciles"`
		ResyncComplete   int                `json:"resyncServersStillComplete"`
		ResyncError      string             `json:"resyncError,omitempty"`
	} `json:"operator"`
}

const upToDate = "status.observedGeneration == metadata.generation; conditions CertificateReady=False/Issuing, ServicesReady=True/AddressesAssigned, " +
	"Available=False/NoReplicaReady, Progressing=True/RollingOut, Degraded=False/AsExpected, Ready=False/CertificateNotReady, each at the current generation; " +
	"status.endpoint set and a passive address for every replica; and every FTPSUser of the server Ready=True at its generation and in the users Secret with a password hash " +
	"(cert-manager's controllers do not run, so no Certificate is issued; envtest runs no StatefulSet controller, so no pod exists)"

// apiServerFlags: room for 1,000 servers' Services (envtest's /24 holds
// about 250 cluster IPs) and for the benchmark's parallel clients.
var apiServerFlags = map[string]string{
	"service-cluster-ip-range": "10.96.0.0/16",
	"max-requests-inflight":    "800",
}

// ourResources are the resources the manager writes; other writes (the
// API server's own leases) are reported apart.
func ourResource(key string) bool {
	res := strings.Fields(key)[0]
	for _, p := range []string{"secrets", "configmaps", "services", "statefulsets.apps", "poddisruptionbudgets.policy",
		"certificates.cert-manager.io", "ftpsservers.ftps.dev", "ftpsusers.ftps.dev", "events"} {
		if res == p || strings.HasPrefix(res, p+"/") || strings.HasPrefix(res, p+".") {
			return true
		}
	}
	return false
}

func split(w writeCounts) (ours, other writeCounts) {
	ours, other = writeCounts{}, writeCounts{}
	for k, v := range w {
		if ourResource(k) {
			ours[k] = v
		} else {
			other[k] = v
		}
	}
	return ours, other
}

func run(ctx context.Context, o options) error {
	if o.out == "" {
		dir, err := os.MkdirTemp("", "bench-operator-")
		if err != nil {
			return err
		}
		o.out = dir
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	fmt.Printf("output in %s\n", o.out)
	if o.manager == "" {
		fmt.Println("building the manager")
		bin, err := buildManager(ctx, o.out)
		if err != nil {
			return err
		}
		o.manager = bin
	}
	mflags := strings.Fields(o.managerFlags)
	if o.managerFlags == "" {
		mflags = []string{fmt.Sprintf("--max-concurrent-reconciles=%d", o.workers)}
	}
	res := &results{Started: time.Now().UTC(), Servers: o.servers, UsersPerServer: o.usersPerServer, Replicas: o.replicas,
		Workers: o.workers, CPUs: cpuCount(), ManagerFlags: mflags, UpToDate: upToDate}
	w := workload{namespace: "bench", servers: o.servers, usersPerServer: o.usersPerServer, replicas: int32(o.replicas)}

	if !o.skipReference {
		if err := reference(ctx, o, w, res); err != nil {
			return fmt.Errorf("plain-client reference: %w", err)
		}
	}
	if err := operatorRun(ctx, o, w, mflags, res); err != nil {
		return fmt.Errorf("operator run: %w", err)
	}
	return report(o, res)
}

// withoutInputs is delta less the creates of the inputs of w.
func withoutInputs(delta writeCounts, w workload) writeCounts {
	d := delta.minus(writeCounts{})
	d["secrets POST"] -= float64(w.servers * w.usersPerServer)
	d["ftpsusers.ftps.dev POST"] -= float64(w.servers * w.usersPerServer)
	d["ftpsservers.ftps.dev POST"] -= float64(w.servers)
	return d.minus(writeCounts{})
}

func cpuCount() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}

// reference times the plain client in a fresh envtest of its own.
func reference(ctx context.Context, o options, w workload, res *results) error {
	// The operator run watches its namespace to see progress; the same
	// watches run here so that both runs bear the same observer.
	r, err := startRun(ctx, w.namespace)
	if err != nil {
		return err
	}
	defer r.stop()
	env, c, wctx := r.env, r.client, r.ctx
	before, err := apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	fmt.Printf("plain client: %d servers, %d workers\n", w.servers, o.workers)
	cpu := cpuSeconds()
	d, err := plainClient(ctx, c, env.Scheme, w, o.workers)
	if err != nil {
		return err
	}
	res.Reference.CPUSeconds = cpuDelta(cpu, cpuSeconds())
	after, err := apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	// Like the operator's figure: the children only, not the inputs.
	writes, _ := split(withoutInputs(after.minus(before), w))
	res.Reference.Seconds = d.Seconds()
	res.Reference.Writes = writes
	res.Reference.WritesByResource = writes.byResource()
	res.Reference.WritesPerServer = writes.total() / float64(w.servers)
	fmt.Printf("plain client: %.1f s, %.1f child writes per server\n", d.Seconds(), res.Reference.WritesPerServer)
	if o.sequential {
		seq := w
		seq.namespace = "bench-sequential"
		if err := createNamespace(ctx, c, seq.namespace); err != nil {
			return err
		}
		if _, err := newWatcher(wctx, env.Config, env.Scheme, seq.namespace); err != nil {
			return err
		}
		d, err := plainClient(ctx, c, env.Scheme, seq, 1)
		if err != nil {
			return err
		}
		res.Reference.SequentialSeconds = d.Seconds()
		fmt.Printf("plain client, one worker: %.1f s\n", d.Seconds())
	}
	return nil
}

// fastClient is a client without client-side rate limits, as a benchmark
// client should be; the manager keeps its own defaults.
func fastClient(cfg *rest.Config, env *testenv.Env) (client.Client, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = -1, 0
	return client.New(c, client.Options{Scheme: env.Scheme})
}

func createNamespace(ctx context.Context, c client.Client, name string) error {
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// controlPlane is one fresh control plane with the benchmark's namespace and its
// progress watcher.
type controlPlane struct {
	env    *testenv.Env
	client client.Client
	watch  *watcher
	ctx    context.Context // the watcher's; ends with stop
	cancel context.CancelFunc
}

func startRun(ctx context.Context, namespace string) (*controlPlane, error) {
	env, err := testenv.Start(testenv.Options{APIServerFlags: apiServerFlags})
	if err != nil {
		return nil, err
	}
	r := &controlPlane{env: env}
	r.ctx, r.cancel = context.WithCancel(ctx)
	if r.client, err = fastClient(env.Config, env); err == nil {
		if err = createNamespace(ctx, r.client, namespace); err == nil {
			r.watch, err = newWatcher(r.ctx, env.Config, env.Scheme, namespace)
		}
	}
	if err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *controlPlane) stop() {
	r.cancel()
	_ = r.env.Stop()
}

func operatorRun(ctx context.Context, o options, w workload, mflags []string, res *results) (err error) {
	r, err := startRun(ctx, w.namespace)
	if err != nil {
		return err
	}
	defer r.stop()
	env, c, watch := r.env, r.client, r.watch
	kc := filepath.Join(o.out, "kubeconfig")
	if err := stack.Kubeconfig(env, "bench-manager", kc); err != nil {
		return err
	}
	mgr, err := startManager(ctx, o.manager, kc, filepath.Join(o.out, "manager.log"), mflags)
	if err != nil {
		return err
	}
	defer mgr.stop()

	before, err := apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	fmt.Printf("operator: creating %d servers with %d workers\n", w.servers, o.workers)
	cpu := cpuSeconds()
	start := time.Now()
	createErr := make(chan error, 1)
	go func() {
		err := forEach(ctx, w.servers, o.workers, func(ctx context.Context, i int) error {
			_, err := createInputs(ctx, c, w, i)
			return err
		})
		res.Operator.CreateSeconds = time.Since(start).Seconds()
		createErr <- err
	}()
	created := false
	lastLog := time.Now()
	for {
		select {
		case err := <-createErr:
			if err != nil {
				return err
			}
			created = true
		case <-ctx.Done():
			return fmt.Errorf("waiting for the servers: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
		done, total, why, err := watch.progress(ctx, w.usersPerServer)
		if err != nil {
			return err
		}
		if created && done == w.servers && total == w.servers {
			break
		}
		if time.Since(lastLog) > 5*time.Second {
			fmt.Printf("  %5.1f s: %d of %d servers complete (%s)\n", time.Since(start).Seconds(), done, w.servers, why)
			lastLog = time.Now()
		}
	}
	res.Operator.Seconds = time.Since(start).Seconds()
	res.Operator.CPUSeconds = cpuDelta(cpu, cpuSeconds())
	fmt.Printf("operator: every server complete after %.1f s\n", res.Operator.Seconds)

	// Count the writes once the manager has nothing left to do, so that
	// late ones (a second status write, events) are counted too.
	s, err := mgr.waitIdle(ctx, nil, 3*time.Minute)
	if err != nil {
		return err
	}
	res.Operator.PeakRSSMiB, res.Operator.EndRSSMiB = mgr.memory()
	after, err := apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	// The benchmark's own creates are not the manager's.
	ours, other := split(withoutInputs(after.minus(before), w))
	res.Operator.Writes, res.Operator.OtherAPIWrites = ours, other
	res.Operator.WritesByResource = ours.byResource()
	res.Operator.WritesPerServer = ours.total() / float64(w.servers)
	res.Operator.ClientWrites = clientWrites(s)
	res.Operator.GoMemory = map[string]float64{}
	for _, m := range []string{"go_memstats_heap_alloc_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_sys_bytes", "go_memstats_sys_bytes"} {
		res.Operator.GoMemory[m] = sum(s, m, nil)
	}
	res.Operator.Reconciles = reconciles(s)
	fmt.Printf("operator: %.1f writes per server, peak RSS %.1f MiB\n", res.Operator.WritesPerServer, res.Operator.PeakRSSMiB)

	// Steady state: a new manager process starts with empty caches and
	// reconciles every server and user again; it should write nothing.
	mgr.stop()
	before, err = apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	start = time.Now()
	mgr, err = startManager(ctx, o.manager, kc, filepath.Join(o.out, "manager-restarted.log"), mflags)
	if err != nil {
		return err
	}
	defer mgr.stop()
	n := float64(w.servers)
	s, err = mgr.waitIdle(ctx, map[string]float64{"ftpsserver": n, "ftpsuser": n * float64(w.usersPerServer)}, 5*time.Minute)
	if err != nil {
		// Reported, not fatal: the figures so far still stand.
		res.Operator.ResyncError = err.Error()
		fmt.Println("operator: resync:", err)
		if s, err = managerMetrics(ctx, mgr.metricsAddr); err != nil {
			return err
		}
	}
	res.Operator.ResyncSeconds = time.Since(start).Seconds()
	res.Operator.ResyncReconciles = reconciles(s)
	after, err = apiWrites(ctx, env.Config)
	if err != nil {
		return err
	}
	res.Operator.ResyncWrites, _ = split(after.minus(before))
	res.Operator.ResyncWritesPer = res.Operator.ResyncWrites.total() / n
	if res.Operator.ResyncComplete, _, _, err = watch.progress(ctx, w.usersPerServer); err != nil {
		return err
	}
	fmt.Printf("operator: resync after a restart took %.1f s and wrote %.0f times\n", res.Operator.ResyncSeconds, res.Operator.ResyncWrites.total())

	res.Operator.ResyncPeakRSSMiB, _ = mgr.memory()
	return nil
}

func reconciles(s []sample) map[string]float64 {
	out := map[string]float64{}
	for _, c := range controllerNames {
		out[c] = sum(s, "controller_runtime_reconcile_total", map[string]string{"controller": c})
	}
	return out
}

// row is one line of targets.tsv.
type row struct{ measure, ours, reference, target, met string }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func report(o options, res *results) error {
	var rows []row
	op := res.Operator
	if res.Reference.Seconds > 0 {
		ratio := op.Seconds / res.Reference.Seconds
		ref := fmt.Sprintf("plain client %.1f s (%d workers)", res.Reference.Seconds, o.workers)
		if res.Reference.SequentialSeconds > 0 {
			ref += fmt.Sprintf("; one worker %.1f s", res.Reference.SequentialSeconds)
		}
		rows = append(rows, row{fmt.Sprintf("%d servers: time to every child and an up-to-date status", res.Servers),
			fmt.Sprintf("%.1f s (%.2fx)", op.Seconds, ratio), ref, "<= 1.5x", yesNo(ratio <= 1.5)})
	} else {
		rows = append(rows, row{fmt.Sprintf("%d servers: time to every child and an up-to-date status", res.Servers),
			fmt.Sprintf("%.1f s", op.Seconds), "not run", "<= 1.5x", "unknown"})
	}
	refWrites := "not run"
	if res.Reference.Seconds > 0 {
		refWrites = fmt.Sprintf("plain client %.2f (children only)", res.Reference.WritesPerServer)
	}
	rows = append(rows,
		row{"manager peak RSS (VmHWM)", fmt.Sprintf("%.1f MiB (end %.1f MiB)", op.PeakRSSMiB, op.EndRSSMiB), "-", "<= 200 MiB", yesNo(op.PeakRSSMiB <= 200)},
		row{"API writes per server (children, status, events; not the inputs)", fmt.Sprintf("%.2f", op.WritesPerServer), refWrites, "-", "-"},
		row{"writes per server in a full resync (manager restart)", fmt.Sprintf("%.2f (resync %.1f s)", op.ResyncWritesPer, op.ResyncSeconds), "-", "0", yesNo(op.ResyncWrites.total() == 0 && op.ResyncError == "")},
		row{"manager peak RSS after the restart", fmt.Sprintf("%.1f MiB", op.ResyncPeakRSSMiB), "-", "<= 200 MiB", yesNo(op.ResyncPeakRSSMiB <= 200)},
	)

	var tsv strings.Builder
	tsv.WriteString("measure\tours\treference\ttarget\tmet\n")
	for _, r := range rows {
		fmt.Fprintf(&tsv, "%s\t%s\t%s\t%s\t%s\n", r.measure, r.ours, r.reference, r.target, r.met)
	}
	if err := os.WriteFile(filepath.Join(o.out, "targets.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "operator.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}

	fmt.Printf("\n%d servers x %d users, %d replicas, %d workers, %d CPUs\n", res.Servers, res.UsersPerServer, res.Replicas, res.Workers, res.CPUs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tOURS\tREFERENCE\tTARGET\tMET")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.measure, r.ours, r.reference, r.target, r.met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\nmanager writes by resource, per server:")
	keys := make([]string, 0, len(op.WritesByResource))
	for k := range op.WritesByResource {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-40s %.2f\n", k, op.WritesByResource[k]/float64(res.Servers))
	}
	fmt.Printf("\nCPU seconds while timed: operator run: %s\n", formatCPU(op.CPUSeconds))
	if res.Reference.Seconds > 0 {
		fmt.Printf("CPU seconds while timed: plain client: %s\n", formatCPU(res.Reference.CPUSeconds))
	}
	fmt.Printf("manager Go heap at the end: %.1f MiB allocated, %.1f MiB from the OS in all\n",
		op.GoMemory["go_memstats_heap_alloc_bytes"]/(1<<20), op.GoMemory["go_memstats_sys_bytes"]/(1<<20))
	fmt.Printf("\nwritten %s and %s\n", filepath.Join(o.out, "targets.tsv"), filepath.Join(o.out, "operator.json"))
	if len(op.OtherAPIWrites) > 0 {
		fmt.Printf("(other API writes, not the manager's: %s)\n", op.OtherAPIWrites)
	}
	return nil
}

func formatCPU(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
