package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// buildManager builds main.go into dir and returns the binary's path.
func buildManager(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "manager")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir, cmd.Stdout, cmd.Stderr = testenv.RepoRoot(), os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the manager: %w", err)
	}
	return out, nil
}

// managerProc is the operator running as a process of its own, so that its
// memory is its own and can be read from /proc.
type managerProc struct {
	cmd         *exec.Cmd
	done        chan struct{}
	metricsAddr string
	probeAddr   string

	mu        sync.Mutex
	maxRSSKiB int64
	hwmKiB    int64
	lastRSS   int64
	stopOnce  sync.Once
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startManager runs bin against kubeconfig and waits until it is ready.
func startManager(ctx context.Context, bin, kubeconfig, logPath string, extra []string) (*managerProc, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--leader-elect=false", "--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=" + probeAddr}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Should the benchmark die without cleaning up, the manager goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	m := &managerProc{cmd: cmd, done: make(chan struct{}), metricsAddr: metricsAddr, probeAddr: probeAddr}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(m.done)
	}()
	go m.sample()
	if err := m.waitReady(ctx, time.Minute); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w (see %s)", err, logPath)
	}
	return m, nil
}

func (m *managerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return errors.New("the manager exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.probeAddr+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("the manager was not ready within %s", timeout)
}

// sample keeps the highest VmRSS and the latest VmHWM until the process
// ends: VmHWM is the kernel's own peak, read last just before the stop.
func (m *managerProc) sample() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		m.readMemory()
		select {
		case <-m.done:
			return
		case <-t.C:
		}
	}
}

func (m *managerProc) readMemory() {
	rss, hwm, err := procMemory(m.cmd.Process.Pid)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastRSS = rss
	m.maxRSSKiB = max(m.maxRSSKiB, rss)
	m.hwmKiB = max(m.hwmKiB, hwm)
}

// memory returns the peak (VmHWM) and the current resident size in MiB.
func (m *managerProc) memory() (peakMiB, nowMiB float64) {
	m.readMemory()
	m.mu.Lock()
	defer m.mu.Unlock()
	return float64(max(m.hwmKiB, m.maxRSSKiB)) / 1024, float64(m.lastRSS) / 1024
}

// procMemory reads VmRSS and VmHWM (KiB) of pid.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}

// stop ends the manager: SIGTERM, then SIGKILL after 15 s.
func (m *managerProc) stop() {
	m.stopOnce.Do(func() {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(15 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.done
		}
	})
}

// controllers are the manager's controllers, as its metrics name them.
var controllerNames = []string{"ftpsserver", "ftpsuser"}

// idle waits until both controllers have reconciled at least min[c]
// times and have had nothing queued and nothing running for three polls in
// a row with no reconcile in between. It returns the last metrics read.
func (m *managerProc) waitIdle(ctx context.Context, minReconciles map[string]float64, timeout time.Duration) ([]sample, error) {
	deadline := time.Now().Add(timeout)
	quiet := 0
	var last float64 = -1
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return nil, errors.New("the manager exited")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		s, err := managerMetrics(ctx, m.metricsAddr)
		if err != nil {
			quiet = 0
			continue
		}
		busy := false
		var total float64
		for _, c := range controllerNames {
			n := sum(s, "controller_runtime_reconcile_total", map[string]string{"controller": c})
			total += n
			if n < minReconciles[c] ||
				sum(s, "workqueue_depth", map[string]string{"name": c}) > 0 ||
				sum(s, "controller_runtime_active_workers", map[string]string{"controller": c}) > 0 {
				busy = true
			}
		}
		if busy || total != last {
			quiet, last = 0, total
			continue
		}
		if quiet++; quiet >= 3 {
			return s, nil
		}
	}
	return nil, fmt.Errorf("the manager did not go idle within %s", timeout)
}

// clientWrites is how many writes the manager's own client sent, by HTTP
// method (client-go's rest_client_requests_total).
func clientWrites(s []sample) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s {
		if x.name != "rest_client_requests_total" {
			continue
		}
		if meth := x.labels["method"]; meth != "GET" {
			out[meth] += x.value
		}
	}
	return out
}

// cpuSeconds maps the names of this process ("bench") and of its children
// (kube-apiserver, etcd, manager) to the CPU time (user + system) they
// have used. Children that ended are not counted.
func cpuSeconds() map[string]float64 {
	out := map[string]float64{}
	self := os.Getpid()
	if c, err := procCPU(self); err == nil {
		out["bench"] = c
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		comm, fields, ok := statFields(string(b))
		if !ok || len(fields) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid != self {
			continue
		}
		out[comm] += ticks(fields[11]) + ticks(fields[12])
	}
	return out
}

// procCPU is the CPU time of pid in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	_, fields, ok := statFields(string(b))
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	return ticks(fields[11]) + ticks(fields[12]), nil
}

// statFields splits /proc/PID/stat: the command name, then the fields
// after it (state first, so utime and stime are at 11 and 12).
func statFields(stat string) (comm string, fields []string, ok bool) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", nil, false
	}
	return stat[open+1 : end], strings.Fields(stat[end+1:]), true
}

// ticks converts clock ticks to seconds; Linux reports them at 100 Hz
// (USER_HZ) on every architecture Go supports.
func ticks(s string) float64 {
	n, _ := strconv.ParseFloat(s, 64)
	return n / 100
}

// cpuDelta is after - before, by process name.
func cpuDelta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		out[k] = v - before[k]
	}
	return out
}
