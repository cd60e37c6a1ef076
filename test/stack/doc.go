// Package stack runs ftps-operator's whole stack on one machine, for the
// end-to-end tests and `make demo`: a real kube-apiserver and etcd
// (internal/testenv), kube-controller-manager, cert-manager's own
// controllers in-process (certmanager.go), the operator (bin/manager), and
// two stand-ins written for tests: a process kubelet that runs each Pod's
// container as a local ftpsd process (kubelet.go) and a cloud load balancer
// (cloud.go).
//
// Only what can run without a container runtime is here: there is no
// cert-manager webhook (the CRD schema is the only validation and nothing
// defaults fields), no cainjector, no ACME, no kube-proxy and no scheduler
// (the process kubelet binds Pods to its own Node).
package stack
