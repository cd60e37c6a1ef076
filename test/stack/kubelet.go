package stack

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/ftpsd/reload/projected"
)

// ProcessKubelet stands in for the kubelet in tests and the demo: it binds
// every unscheduled Pod to its Node and runs each container as a local
// process (Binary, whatever the image), with the Pod's args and env.
//
// What a container runtime would isolate, it translates instead: each Pod
// gets its own loopback address (addresses.go; stable per Pod name), Secret and
// ConfigMap volumes are projected into folders exactly the way the kubelet
// writes them (timestamped folder, ..data symlink swapped atomically) and
// kept in sync, and mount paths in args and in projected files are rewritten
// to those folders, as are listen addresses of the form ":port" to the Pod's
// address. Readiness comes from the container's HTTP readiness probe.
type ProcessKubelet struct {
	Client   client.Client
	NodeName string
	// Binary runs every container.
	Binary string
	// Dir holds pods/<namespace>_<name>/ (volumes, logs) and pvc/<namespace>/<claim>/.
	Dir string

	mu    sync.Mutex
	pods  map[types.UID]*podProcess
	ips   map[string]string // namespace/name -> loopback address
	addrs *addressBlock
}

// podProcess is one running Pod.
type podProcess struct {
	ip, dir  string
	mounts   map[string]string // mount path -> host folder
	volumes  map[string]string // volume name -> hash of its projected content
	cmd      *exec.Cmd
	done     chan struct{}
	started  metav1.Time
	restarts int32
}

// SetupWithManager registers the Node and the Pod reconciler.
func (k *ProcessKubelet) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	k.pods = map[types.UID]*podProcess{}
	k.ips = map[string]string{}
	if err := k.registerNode(ctx, mgr.GetAPIReader(), mgr.GetClient()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("process-kubelet").For(&corev1.Pod{}).Complete(k)
}

func (k *ProcessKubelet) registerNode(ctx context.Context, r client.Reader, c client.Client) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.NodeName, Labels: map[string]string{
		"kubernetes.io/hostname": k.NodeName, "kubernetes.io/os": "linux",
	}}}
	if err := c.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := r.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
		return err
	}
	now := metav1.Now()
	node.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "process kubelet is running", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: k.addrs.node()},
		{Type: corev1.NodeHostName, Address: k.NodeName},
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("24Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	return c.Status().Update(ctx, node)
}

// Reconcile moves one Pod towards running (or gone).
func (k *ProcessKubelet) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pod := &corev1.Pod{}
	err := k.Client.Get(ctx, req.NamespacedName, pod)
	if apierrors.IsNotFound(err) {
		k.stopByName(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if pod.Spec.NodeName == "" {
		return ctrl.Result{}, k.bind(ctx, pod)
	}
	if pod.Spec.NodeName != k.NodeName {
		return ctrl.Result{}, nil
	}
	if pod.DeletionTimestamp != nil {
		k.stop(pod.UID, gracePeriod(pod))
		// The kubelet removes the Pod once its containers are gone.
		err := k.Client.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &pod.UID})
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	p, err := k.ensureRunning(ctx, pod)
	if err != nil {
		// A volume's Secret may not exist yet (a certificate being issued).
		return ctrl.Result{RequeueAfter: time.Second}, k.reportWaiting(ctx, pod, err)
	}
	return ctrl.Result{RequeueAfter: time.Second}, k.reportRunning(ctx, pod, p)
}

func (k *ProcessKubelet) bind(ctx context.Context, pod *corev1.Pod) error {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.NodeName},
	}
	return client.IgnoreNotFound(k.Client.SubResource("binding").Create(ctx, pod, b))
}

// podIP gives each Pod name its own loopback address, the same across
// restarts of the Pod.
func (k *ProcessKubelet) podIP(key string) string {
	if ip, ok := k.ips[key]; ok {
		return ip
	}
	ip := k.addrs.pod(len(k.ips))
	k.ips[key] = ip
	return ip
}

func (k *ProcessKubelet) ensureRunning(ctx context.Context, pod *corev1.Pod) (*podProcess, error) {
	k.mu.Lock()
	p := k.pods[pod.UID]
	if p == nil {
		p = &podProcess{
			ip:      k.podIP(pod.Namespace + "/" + pod.Name),
			dir:     filepath.Join(k.Dir, "pods", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID)[:8]),
			volumes: map[string]string{},
		}
		k.pods[pod.UID] = p
	}
	k.mu.Unlock()

	if len(pod.Spec.Containers) != 1 {
		return nil, fmt.Errorf("the process kubelet runs pods of one container, %s has %d", pod.Name, len(pod.Spec.Containers))
	}
	ctr := pod.Spec.Containers[0]
	if err := k.syncVolumes(ctx, pod, p, ctr); err != nil {
		return nil, err
	}
	if p.cmd != nil {
		select {
		case <-p.done:
			p.restarts++ // restartPolicy Always
			p.cmd = nil
		default:
			return p, nil
		}
	}
	return p, k.start(pod, p, ctr)
}

// syncVolumes projects the Pod's volumes, and re-projects a Secret or
// ConfigMap volume when its content changed, as the kubelet does.
func (k *ProcessKubelet) syncVolumes(ctx context.Context, pod *corev1.Pod, p *podProcess, ctr corev1.Container) error {
	if p.mounts == nil {
		p.mounts = map[string]string{}
		for _, m := range ctr.VolumeMounts {
			p.mounts[m.MountPath] = filepath.Join(p.dir, "volumes", m.Name)
		}
	}
	for _, v := range pod.Spec.Volumes {
		dir := filepath.Join(p.dir, "volumes", v.Name)
		var files map[string][]byte
		switch {
		case v.ConfigMap != nil:
			cm := &corev1.ConfigMap{}
			if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.ConfigMap.Name}, cm); err != nil {
				return fmt.Errorf("volume %s: ConfigMap %s: %w", v.Name, v.ConfigMap.Name, err)
			}
			data := map[string][]byte{}
			for key, val := range cm.Data {
				data[key] = []byte(val)
			}
			files = pickItems(data, v.ConfigMap.Items)
		case v.Secret != nil:
			s := &corev1.Secret{}
			if err := k.Client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: v.Secret.SecretName}, s); err != nil {
				return fmt.Errorf("volume %s: Secret %s: %w", v.Name, v.Secret.SecretName, err)
			}
			files = pickItems(s.Data, v.Secret.Items)
		case v.PersistentVolumeClaim != nil:
			claimDir := filepath.Join(k.Dir, "pvc", pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if err := os.MkdirAll(claimDir, 0o755); err != nil {
				return err
			}
			p.replaceMount(v.Name, claimDir)
			continue
		default: // emptyDir and the rest: an empty folder of the Pod.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			continue
		}
		for key, content := range files {
			files[key] = p.rewrite(content)
		}
		h := hashFiles(files)
		if p.volumes[v.Name] == h {
			continue
		}
		if err := projected.Write(dir, files); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		p.volumes[v.Name] = h
	}
	return nil
}

// replaceMount points the mounts of volume name at dir.
func (p *podProcess) replaceMount(name, dir string) {
	old := filepath.Join(p.dir, "volumes", name)
	for mp, host := range p.mounts {
		if host == old {
			p.mounts[mp] = dir
		}
	}
}

func pickItems(data map[string][]byte, items []corev1.KeyToPath) map[string][]byte {
	files := map[string][]byte{}
	if len(items) == 0 {
		for key, val := range data {
			files[key] = val
		}
		return files
	}
	for _, it := range items {
		if val, ok := data[it.Key]; ok {
			files[it.Path] = val
		}
	}
	return files
}

func hashFiles(files map[string][]byte) string {
	keys := make([]string, 0, len(files))
	for key := range files {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, key := range keys {
		fmt.Fprintf(h, "%s\x00%d\x00", key, len(files[key]))
		h.Write(files[key])
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// listenLine matches a YAML "xxxListen: ":port"" line.
var listenLine = regexp.MustCompile(`(?m)^(\s*\w*[lL]isten:\s*)"?:(\d+)"?\s*$`)

// rewrite translates what a container runtime would isolate: mount paths
// become host folders, ":port" listeners bind the Pod's own address.
func (p *podProcess) rewrite(b []byte) []byte {
	b = listenLine.ReplaceAll(b, []byte(`${1}"`+p.ip+`:${2}"`))
	return []byte(p.rewritePaths(string(b)))
}

func (p *podProcess) rewritePaths(s string) string {
	paths := make([]string, 0, len(p.mounts))
	for mp := range p.mounts {
		paths = append(paths, regexp.QuoteMeta(mp))
	}
	if len(paths) == 0 {
		return s
	}
	// Longest first, so /etc/ftpsd/users wins over /etc/ftpsd; one pass, so
	// a host folder put in is never rewritten again.
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	re := regexp.MustCompile(`(^|[\s"'=:])(` + strings.Join(paths, "|") + `)(/|"|'|\s|$)`)
	return re.ReplaceAllStringFunc(s, func(m string) string {
		sub := re.FindStringSubmatch(m)
		return sub[1] + p.mounts[sub[2]] + sub[3]
	})
}

func (k *ProcessKubelet) start(pod *corev1.Pod, p *podProcess, ctr corev1.Container) error {
	args := make([]string, 0, len(ctr.Command)+len(ctr.Args))
	for _, a := range append(append([]string{}, ctr.Command...), ctr.Args...) {
		args = append(args, p.rewritePaths(a))
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir}
	for _, e := range ctr.Env {
		val := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				val = pod.Name
			case "metadata.namespace":
				val = pod.Namespace
			case "status.podIP":
				val = statusIP(p.ip)
			case "spec.nodeName":
				val = k.NodeName
			}
		}
		env = append(env, e.Name+"="+val)
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(p.dir, ctr.Name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(k.Binary, args...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, p.dir, logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.cmd, p.done, p.started = cmd, make(chan struct{}), metav1.Now()
	done := p.done
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	return nil
}

// ready runs the container's HTTP readiness probe once.
func (p *podProcess) ready(ctr corev1.Container) bool {
	probe := ctr.ReadinessProbe
	if probe == nil || probe.HTTPGet == nil {
		return p.cmd != nil
	}
	port := probe.HTTPGet.Port.IntValue()
	if port == 0 {
		for _, cp := range ctr.Ports {
			if cp.Name == probe.HTTPGet.Port.String() {
				port = int(cp.ContainerPort)
			}
		}
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + p.ip + ":" + strconv.Itoa(port) + probe.HTTPGet.Path)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

func (k *ProcessKubelet) reportRunning(ctx context.Context, pod *corev1.Pod, p *podProcess) error {
	ctr := pod.Spec.Containers[0]
	ready := p.ready(ctr)
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	want := pod.DeepCopy()
	want.Status.Phase = corev1.PodRunning
	want.Status.HostIP, want.Status.PodIP = k.addrs.node(), statusIP(p.ip)
	want.Status.HostIPs = []corev1.HostIP{{IP: want.Status.HostIP}}
	want.Status.PodIPs = []corev1.PodIP{{IP: want.Status.PodIP}}
	if want.Status.StartTime == nil {
		want.Status.StartTime = &p.started
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		s := corev1.ConditionTrue
		if t == corev1.ContainersReady || t == corev1.PodReady {
			s = status
		}
		setPodCondition(&want.Status, t, s)
	}
	want.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: ctr.Name, Image: ctr.Image, ImageID: ctr.Image, Ready: ready, Started: ptr(true),
		RestartCount: p.restarts, ContainerID: fmt.Sprintf("process://%d", p.cmd.Process.Pid),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: p.started}},
	}}
	return k.patchStatus(ctx, pod, want)
}

func (k *ProcessKubelet) reportWaiting(ctx context.Context, pod *corev1.Pod, cause error) error {
	want := pod.DeepCopy()
	want.Status.Phase = corev1.PodPending
	setPodCondition(&want.Status, corev1.PodScheduled, corev1.ConditionTrue)
	ctr := pod.Spec.Containers[0]
	want.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: ctr.Name, Image: ctr.Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: cause.Error()}},
	}}
	return k.patchStatus(ctx, pod, want)
}

func (k *ProcessKubelet) patchStatus(ctx context.Context, pod, want *corev1.Pod) error {
	if equalStatus(pod.Status, want.Status) {
		return nil
	}
	return client.IgnoreNotFound(k.Client.Status().Patch(ctx, want, client.MergeFrom(pod)))
}

// equalStatus compares as the API server would (setPodCondition keeps
// timestamps of conditions that did not change).
func equalStatus(a, b corev1.PodStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

func setPodCondition(s *corev1.PodStatus, t corev1.PodConditionType, status corev1.ConditionStatus) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != status {
				s.Conditions[i].Status = status
				s.Conditions[i].LastTransitionTime = metav1.Now()
			}
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: status, LastTransitionTime: metav1.Now()})
}

func gracePeriod(pod *corev1.Pod) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

// stop ends a Pod's process: SIGTERM, then SIGKILL after grace.
func (k *ProcessKubelet) stop(uid types.UID, grace time.Duration) {
	k.mu.Lock()
	p := k.pods[uid]
	delete(k.pods, uid)
	k.mu.Unlock()
	if p == nil || p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (k *ProcessKubelet) stopByName(name types.NamespacedName) {
	k.mu.Lock()
	var uids []types.UID
	for uid, p := range k.pods {
		if strings.Contains(p.dir, name.Namespace+"_"+name.Name+"_") {
			uids = append(uids, uid)
		}
	}
	k.mu.Unlock()
	for _, uid := range uids {
		k.stop(uid, 10*time.Second)
	}
}

// StopAll ends every process, for the end of a test or the demo.
func (k *ProcessKubelet) StopAll() {
	k.mu.Lock()
	uids := make([]types.UID, 0, len(k.pods))
	for uid := range k.pods {
		uids = append(uids, uid)
	}
	k.mu.Unlock()
	for _, uid := range uids {
		k.stop(uid, 10*time.Second)
	}
}

// PodIP is the loopback address of a Pod, once it has one.
func (k *ProcessKubelet) PodIP(namespace, name string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ip, ok := k.ips[namespace+"/"+name]
	if !ok {
		return "", errors.New("pod " + namespace + "/" + name + " has not run here")
	}
	return ip, nil
}

func ptr[T any](v T) *T { return &v }
