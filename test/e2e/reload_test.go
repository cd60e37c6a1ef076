package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
	"github.com/ftps-operator/ftps-operator/test/clients"
)

// editServer changes the sample server, retrying on conflicts with the
// operator's status writes.
func editServer(t *testing.T, ns string, edit func(*ftpsv1alpha1.FTPSServer)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		srv := &ftpsv1alpha1.FTPSServer{}
		if err := st.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: "exchange"}, srv); err != nil {
			return err
		}
		edit(srv)
		return st.Client.Update(context.Background(), srv)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var configReloads = regexp.MustCompile(`(?m)^ftpsd_reloads_total\{file="config",result="ok"\} ([0-9.e+]+)$`)

// configReloadCount scrapes a Pod's ftpsd for its successful config reloads.
func configReloadCount(t *testing.T, ns, pod string) int {
	t.Helper()
	ip, err := st.Kubelet.PodIP(ns, pod)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + net.JoinHostPort(ip, strconv.Itoa(int(render.PodMetricsPort))) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	m := configReloads.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// greetsAfterProxyHeader connects to addr, sends a PROXY header first (as a
// load balancer would) and says whether the server greets the connection.
// With proxyProtocol off the server greets at once; on, a header from an
// address outside trustedCIDRs is refused and the connection closed.
func greetsAfterProxyHeader(t *testing.T, addr string) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "PROXY TCP4 192.0.2.7 192.0.2.8 40000 21\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "220")
}

// epsvPort asks for a passive port and returns it.
func epsvPort(t *testing.T, c *ftptest.Client) int {
	t.Helper()
	text := c.Must("EPSV", 229)
	from, to := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
	if from < 0 || to < from {
		t.Fatalf("EPSV reply %q", text)
	}
	p, err := strconv.Atoi(text[from+4 : to])
	if err != nil {
		t.Fatalf("EPSV reply %q", text)
	}
	return p
}

// Every field ftpsd reloads in place (limits, the passive port
// layout, the PROXY protocol) changes without a Pod restart; a session opened before the change
// keeps its own limits and goes on, new sessions get the new ones.
func TestLiveFieldsKeepPodsAndSessions(t *testing.T) {
	ns, _, host, port, caFile := applySamples(t)
	addr := net.JoinHostPort(host, port)
	before := podsOf(t, ns)

	old, _ := clients.Open(t, addr, sampleHost, caFile)
	if code := clients.LoginCode(old, sampleUser, samplePassword); code != 230 {
		t.Fatalf("login: %d", code)
	}
	clients.RoundTrip(old, "before.bin", []byte("opened before the edit"))

	if !greetsAfterProxyHeader(t, addr) {
		t.Fatal("a connection that starts with a PROXY header is not greeted with proxyProtocol off")
	}
	reloads := map[string]int{}
	for pod := range before {
		reloads[pod] = configReloadCount(t, ns, pod)
	}
	// The sample has idleTimeout 5m (the default) and 16 passive ports per
	// replica from 30000.
	const newStart, perReplica = 31000, 20
	editServer(t, ns, func(srv *ftpsv1alpha1.FTPSServer) {
		l := &srv.Spec.Limits
		l.IdleTimeout = &metav1.Duration{Duration: 10 * time.Second}
		l.LoginTimeout = &metav1.Duration{Duration: 20 * time.Second}
		l.MaxSessions = 500
		l.MaxLoginFailures = 1000
		l.BanDuration = &metav1.Duration{Duration: 5 * time.Minute}
		srv.Spec.Passive.PortRangeStart = newStart
		srv.Spec.Passive.PortsPerReplica = perReplica
		// Trust a load balancer that is not there: this test's clients
		// are still served, and a PROXY header from them is refused.
		srv.Spec.ProxyProtocol = ftpsv1alpha1.ProxyProtocol{Enabled: true, TrustedCIDRs: []string{"192.0.2.0/24"}}
	})
	ftptest.Eventually(t, 120*time.Second, time.Second, "every Pod reloaded its config", ftptest.Holds(func() bool {
		for pod, v := range podsOf(t, ns) {
			if before[pod] != v {
				t.Fatalf("pod %s was replaced or restarted by a live change: %s -> %s (uid/restarts)", pod, before[pod], v)
			}
		}
		for pod, n := range reloads {
			if configReloadCount(t, ns, pod) <= n {
				return false
			}
		}
		return true
	}))

	// New sessions, on both replicas, get the new passive range, the new
	// idle timeout (ftpsd sends 421 after 10s without a command) and the
	// PROXY protocol.
	proxyRefused := func() bool {
		if greetsAfterProxyHeader(t, addr) {
			t.Log("a PROXY header from an untrusted address is still greeted")
			return false
		}
		return true
	}
	newSession := func() bool {
		c, _ := clients.Open(t, addr, sampleHost, caFile)
		defer func() { _ = c.Raw.Close() }()
		if clients.LoginCode(c, sampleUser, samplePassword) != 230 {
			return false
		}
		p := epsvPort(t, c)
		if p < newStart || p >= newStart+2*perReplica {
			t.Logf("EPSV port %d, want one in %d-%d", p, newStart, newStart+2*perReplica-1)
			return false
		}
		time.Sleep(12 * time.Second)
		code, text := c.Cmd("NOOP")
		if code != 421 {
			t.Logf("after 12s idle: %q, want the 421 of a 10s idle timeout", text)
		}
		return code == 421
	}
	ftptest.Eventually(t, 90*time.Second, time.Second, "new sessions get the new limits and passive range on both replicas", ftptest.Holds(func() bool {
		return twice(proxyRefused) && twice(newSession)
	}))

	// The old session has been idle longer than the new timeout: it keeps
	// the one it started with, and moves data through the new passive range.
	old.Must("NOOP", 200)
	clients.RoundTrip(old, "after.bin", []byte("still here after the edit"))
	assertNoRestart(t, ns, before)
}

// rollLog follows the server's Pods through a roll by watching them, so
// that no state in between is missed however fast the Pods start.
type rollLog struct {
	mu          sync.Mutex
	first       map[string]types.UID // the Pods before the roll
	pods        map[string]podState
	unavailable int       // the most Pods down at once
	oneDown     time.Time // when the old exchange-1 first stopped serving
	oneReady    time.Time // when the new exchange-1 was first Ready
	zeroDown    time.Time // when the old exchange-0 first stopped serving
	zeroNew     bool      // exchange-0 has been replaced
}

type podState struct {
	uid   types.UID
	ready bool
}

func stateOf(p *corev1.Pod) podState {
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	return podState{uid: p.UID, ready: ready && p.DeletionTimestamp == nil}
}

func (l *rollLog) observe(name string, s podState, gone bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gone {
		delete(l.pods, name)
	} else {
		l.pods[name] = s
	}
	now := time.Now()
	down := 0
	for _, n := range []string{"exchange-0", "exchange-1"} {
		if p, ok := l.pods[n]; !ok || !p.ready {
			down++
		}
	}
	l.unavailable = max(l.unavailable, down)
	if p, ok := l.pods["exchange-1"]; (!ok || !p.ready || p.uid != l.first["exchange-1"]) && l.oneDown.IsZero() {
		l.oneDown = now
	}
	if p, ok := l.pods["exchange-1"]; ok && p.ready && p.uid != l.first["exchange-1"] && l.oneReady.IsZero() {
		l.oneReady = now
	}
	if p, ok := l.pods["exchange-0"]; (!ok || !p.ready || p.uid != l.first["exchange-0"]) && l.zeroDown.IsZero() {
		l.zeroDown = now
	}
	if p, ok := l.pods["exchange-0"]; ok && p.ready && p.uid != l.first["exchange-0"] {
		l.zeroNew = true
	}
}

// A field ftpsd reads only at start (here: turning implicit FTPS
// off) rolls the Pods one at a time, highest ordinal first; a session open
// on exchange-0 goes on while exchange-1 rolls.
func TestStartOnlyFieldRollsOneAtATime(t *testing.T) {
	ctx := context.Background()
	ns, _, _, _, caFile := applySamples(t)
	wc, err := client.NewWithWatch(st.Env.Config, client.Options{Scheme: st.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, stopWatch := context.WithTimeout(ctx, 5*time.Minute)
	defer stopWatch()
	w, err := wc.Watch(watchCtx, &corev1.PodList{}, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "exchange"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	log := &rollLog{first: map[string]types.UID{}, pods: map[string]podState{}}
	var pods corev1.PodList
	if err := st.Client.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/instance": "exchange"}); err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		log.first[pods.Items[i].Name] = pods.Items[i].UID
	}
	if len(log.first) != 2 {
		t.Fatalf("pods %v, want 2", log.first)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			log.observe(p.Name, stateOf(p), ev.Type == watch.Deleted)
		}
	}()

	// A session straight to exchange-0, which rolls last.
	ip0, err := st.Kubelet.PodIP(ns, "exchange-0")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := clients.TLSConfig(caFile, sampleHost)
	if err != nil {
		t.Fatal(err)
	}
	s0, err := ftptest.DialConn(net.JoinHostPort(ip0, strconv.Itoa(int(render.PodControlPort))), conf, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s0.Close()
	if err := s0.AuthTLS(); err != nil {
		t.Fatal(err)
	}
	if err := s0.Login(sampleUser, samplePassword); err != nil {
		t.Fatal(err)
	}
	// NOOP every 20ms: the times of the replies, and when it ended.
	var (
		noops   []time.Time
		noopEnd time.Time
	)
	nooped := make(chan struct{})
	go func() {
		defer close(nooped)
		defer func() { noopEnd = time.Now() }()
		for range 15000 { // 5 minutes at most
			if _, err := s0.Expect("NOOP", 200); err != nil {
				return
			}
			noops = append(noops, time.Now())
			time.Sleep(20 * time.Millisecond)
		}
	}()

	editServer(t, ns, func(srv *ftpsv1alpha1.FTPSServer) { srv.Spec.Ports.Implicit = 0 })
	ftptest.Eventually(t, 4*time.Minute, 500*time.Millisecond, "both Pods are replaced and Ready", ftptest.Holds(func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return log.zeroNew && !log.oneReady.IsZero()
	}))
	st.WaitServerReady(t, ns, "exchange", 3*time.Minute)
	stopWatch()
	<-watched
	s0.Close()
	<-nooped

	log.mu.Lock()
	defer log.mu.Unlock()
	if log.unavailable > 1 {
		t.Errorf("%d Pods were unavailable at once during the roll, want at most 1", log.unavailable)
	}
	if !log.zeroDown.After(log.oneReady) {
		t.Errorf("exchange-0 stopped serving at %s, before the new exchange-1 was Ready at %s", log.zeroDown.Format(time.StampMilli), log.oneReady.Format(time.StampMilli))
	}
	// The session on exchange-0 answered while exchange-1 was down, and
	// ended only when exchange-0's own turn came.
	servedDuringRoll := false
	for _, at := range noops {
		if at.After(log.oneDown) && at.Before(log.oneReady) {
			servedDuringRoll = true
		}
	}
	if !servedDuringRoll {
		t.Errorf("the session on exchange-0 did not answer while exchange-1 rolled (%s to %s); %d NOOPs", log.oneDown.Format(time.StampMilli), log.oneReady.Format(time.StampMilli), len(noops))
	}
	if noopEnd.Before(log.zeroDown) {
		t.Errorf("the session on exchange-0 ended at %s, before exchange-0 stopped serving at %s", noopEnd.Format(time.StampMilli), log.zeroDown.Format(time.StampMilli))
	}
	t.Logf("roll: exchange-1 down %s, Ready %s; exchange-0 down %s; %d NOOPs answered on exchange-0, the session ended %s",
		log.oneDown.Format(time.StampMilli), log.oneReady.Format(time.StampMilli), log.zeroDown.Format(time.StampMilli), len(noops), noopEnd.Format(time.StampMilli))
}
