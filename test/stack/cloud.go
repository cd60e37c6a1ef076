package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podNameLabel is the label a StatefulSet puts on each of its Pods.
const podNameLabel = "statefulset.kubernetes.io/pod-name"

// CloudLoadBalancer stands in for a cloud's load-balancer controller: each
// LoadBalancer Service gets an ingress address in its status. A Service that
// selects one Pod by name (a passive-port Service) gets that Pod's own
// address, where its ports are reachable with no proxy in between; any other
// gets a loopback address of its own (addresses.go) where a TCP
// forwarder spreads connections over the Service's ready endpoints, as a
// cloud load balancer would.
type CloudLoadBalancer struct {
	Client  client.Client
	Kubelet *ProcessKubelet

	ctx        context.Context // the forwarders' lifetime
	mu         sync.Mutex
	forwarders map[string]*forwarder // namespace/name -> forwarder
}

// SetupWithManager registers the Service reconciler; ctx bounds the
// forwarders' API calls.
func (lb *CloudLoadBalancer) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	lb.ctx = ctx
	lb.forwarders = map[string]*forwarder{}
	return ctrl.NewControllerManagedBy(mgr).Named("cloud-load-balancer").For(&corev1.Service{}).Complete(lb)
}

// Reconcile gives one LoadBalancer Service its address.
func (lb *CloudLoadBalancer) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	svc := &corev1.Service{}
	err := lb.Client.Get(ctx, req.NamespacedName, svc)
	if apierrors.IsNotFound(err) || (err == nil && (svc.DeletionTimestamp != nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer)) {
		lb.closeForwarder(req.String())
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	var ip string
	if pod, ok := svc.Spec.Selector[podNameLabel]; ok {
		ip, err = lb.Kubelet.PodIP(svc.Namespace, pod)
		if err != nil {
			return ctrl.Result{RequeueAfter: time.Second}, nil // the Pod has not started yet
		}
	} else {
		f, err := lb.forwarderFor(svc)
		if err != nil {
			return ctrl.Result{}, err
		}
		ip = f.ip
	}
	if len(svc.Status.LoadBalancer.Ingress) == 1 && svc.Status.LoadBalancer.Ingress[0].IP == ip {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(svc.DeepCopy())
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	return ctrl.Result{}, lb.Client.Status().Patch(ctx, svc, patch)
}

func (lb *CloudLoadBalancer) forwarderFor(svc *corev1.Service) (*forwarder, error) {
	key := svc.Namespace + "/" + svc.Name
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if f, ok := lb.forwarders[key]; ok {
		return f, nil
	}
	f := &forwarder{
		ip:     lb.Kubelet.addrs.loadBalancer(len(lb.forwarders)),
		c:      lb.Client,
		ns:     svc.Namespace,
		svc:    svc.Name,
		ctx:    lb.ctx,
		closed: make(chan struct{}),
	}
	for _, p := range svc.Spec.Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(f.ip, strconv.Itoa(int(p.Port))))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("load balancer for %s: %w", key, err)
		}
		f.listeners = append(f.listeners, ln)
		go f.serve(ln, p.Name)
	}
	lb.forwarders[key] = f
	ctrl.Log.WithName("cloud-load-balancer").Info("forwarding", "service", key, "address", f.ip)
	return f, nil
}

func (lb *CloudLoadBalancer) closeForwarder(key string) {
	lb.mu.Lock()
	f := lb.forwarders[key]
	delete(lb.forwarders, key)
	lb.mu.Unlock()
	if f != nil {
		ctrl.Log.WithName("cloud-load-balancer").Info("stopped forwarding", "service", key)
		f.close()
	}
}

// Close stops every forwarder.
func (lb *CloudLoadBalancer) Close() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for key, f := range lb.forwarders {
		f.close()
		delete(lb.forwarders, key)
	}
}

// forwarder is one load balancer: a listener per Service port.
type forwarder struct {
	ip        string
	c         client.Client
	ns, svc   string
	ctx       context.Context
	listeners []net.Listener
	next      atomic.Uint64
	closed    chan struct{}
	once      sync.Once
}

func (f *forwarder) close() {
	f.once.Do(func() {
		close(f.closed)
		for _, ln := range f.listeners {
			_ = ln.Close()
		}
	})
}

func (f *forwarder) serve(ln net.Listener, portName string) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		go f.forward(conn, portName)
	}
}

// forward connects a client to the next ready endpoint of the Service.
func (f *forwarder) forward(conn net.Conn, portName string) {
	defer conn.Close()
	addrs, err := f.endpoints(portName)
	if err != nil || len(addrs) == 0 {
		ctrl.Log.WithName("cloud-load-balancer").Info("no endpoint", "service", f.ns+"/"+f.svc, "port", portName, "error", err)
		return
	}
	addr := addrs[f.next.Add(1)%uint64(len(addrs))]
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); closeWrite(conn); done <- struct{}{} }()
	select {
	case <-done:
		<-done
	case <-f.closed:
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// endpoints lists ip:port of the Service's ready endpoints for a port,
// from the EndpointSlices kube-controller-manager maintains.
func (f *forwarder) endpoints(portName string) ([]string, error) {
	var slices discoveryv1.EndpointSliceList
	if err := f.c.List(f.ctx, &slices, client.InNamespace(f.ns), client.MatchingLabels{discoveryv1.LabelServiceName: f.svc}); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range slices.Items {
		var port int32
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == portName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				out = append(out, net.JoinHostPort(Loopback(a), strconv.Itoa(int(port))))
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no ready endpoint")
	}
	return out, nil
}
