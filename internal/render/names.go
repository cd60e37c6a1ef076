// Package render builds the child objects of an FTPSServer: pure functions
// from the custom resources (and what the reconciler observed) to the
// Kubernetes objects the operator applies. Nothing here talks to an API
// server, so that every decision can be tested as a table.
package render

import (
	"fmt"
	"maps"
	"strconv"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
)

// FieldOwner is the server-side apply field manager of every child object.
const FieldOwner = "ftps-operator"

// The ports ftpsd listens on inside the pod: unprivileged, so that the pod
// runs as a non-root user without NET_BIND_SERVICE. The Services map the
// public ports onto them.
const (
	PodControlPort  int32 = 2121
	PodImplicitPort int32 = 2990
	PodMetricsPort  int32 = 9090
)

// Where ftpsd finds its files inside the pod. Each is a whole volume mounted
// read-only (never subPath), so that the kubelet's atomic ..data swap reaches
// the pod and ftpsd can reload the files.
const (
	ConfigDir     = "/etc/ftpsd/config"
	UsersDir      = "/etc/ftpsd/users"
	TLSDir        = "/etc/ftpsd/tls"
	ClientCADir   = "/etc/ftpsd/client-ca"
	DataDir       = "/data"
	TmpDir        = "/tmp"
	ConfigKey     = "ftpsd.yaml"
	UsersKey      = "users.yaml"
	ConfigPath    = ConfigDir + "/" + ConfigKey
	UsersPath     = UsersDir + "/" + UsersKey
	TLSCertFile   = TLSDir + "/tls.crt"
	TLSKeyFile    = TLSDir + "/tls.key"
	DataVolume    = "data"
	ContainerName = "ftpsd"
)

// Labels and annotations the operator sets.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"
	// LabelPodName is set by the StatefulSet controller on each pod.
	LabelPodName = "statefulset.kubernetes.io/pod-name"
	// AnnotationRestartHash is the pod template's hash of the inputs ftpsd
	// reads only at start; a change rolls the pods.
	AnnotationRestartHash = "ftps.dev/restart-hash"
	// AnnotationReplica names the replica ordinal a passive Service serves.
	AnnotationReplica = "ftps.dev/replica"
	// AnnotationPolicyHash records, on the ConfigMap, the policy it carries.
	AnnotationPolicyHash = "ftps.dev/policy-hash"
)

// Component label values.
const (
	ComponentServer  = "server"
	ComponentPassive = "passive"
)

// SelectorLabels select the pods of srv. They never change for the life of
// the server (a StatefulSet selector is immutable).
func SelectorLabels(srv *v1alpha1.FTPSServer) map[string]string {
	return map[string]string{
		LabelName:     "ftpsd",
		LabelInstance: srv.Name,
	}
}

// Labels are the labels of every child of srv.
func Labels(srv *v1alpha1.FTPSServer, component string) map[string]string {
	l := SelectorLabels(srv)
	l[LabelManagedBy] = FieldOwner
	if component != "" {
		l[LabelComponent] = component
	}
	return l
}

// mergeLabels returns extra overlaid by ours: a user label never overrides
// a selector label.
func mergeLabels(extra, ours map[string]string) map[string]string {
	out := maps.Clone(extra)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, ours)
	return out
}

// ConfigMapName is the ConfigMap holding ftpsd.yaml.
func ConfigMapName(srv *v1alpha1.FTPSServer) string { return srv.Name + "-config" }

// UsersSecretName is the Secret holding users.yaml.
func UsersSecretName(srv *v1alpha1.FTPSServer) string { return srv.Name + "-users" }

// OperatorTLSSecretName is the Secret cert-manager or the operator fills.
func OperatorTLSSecretName(srv *v1alpha1.FTPSServer) string { return srv.Name + "-tls" }

// TLSSecretName is the Secret the pods mount as their certificate: the one
// the user brings, or the one cert-manager or the operator fills.
func TLSSecretName(srv *v1alpha1.FTPSServer) string {
	if srv.Spec.TLS.SecretName != "" {
		return srv.Spec.TLS.SecretName
	}
	return OperatorTLSSecretName(srv)
}

// PassiveServiceName is replica ordinal's passive Service.
func PassiveServiceName(srv *v1alpha1.FTPSServer, ordinal int32) string {
	return fmt.Sprintf("%s-pasv-%d", srv.Name, ordinal)
}

// SharedPassiveServiceName is the one passive Service of Shared mode.
func SharedPassiveServiceName(srv *v1alpha1.FTPSServer) string { return srv.Name + "-pasv" }

// PodName is the name of replica ordinal's pod.
func PodName(srv *v1alpha1.FTPSServer, ordinal int32) string {
	return srv.Name + "-" + strconv.Itoa(int(ordinal))
}

// Replicas is spec.replicas with its default (FTPSServerSpec.ReplicasOrDefault).
func Replicas(srv *v1alpha1.FTPSServer) int32 { return srv.Spec.ReplicasOrDefault() }

// Shared reports whether srv uses one shared passive Service.
func Shared(srv *v1alpha1.FTPSServer) bool {
	return srv.Spec.Passive.ModeOrDefault() == v1alpha1.PassiveModeShared
}

// ReplicaPortRange is the passive ports replica ordinal owns, inclusive. It
// depends only on the ordinal, so scaling never moves a replica's range.
// In Shared mode every replica listens on the whole range.
func ReplicaPortRange(srv *v1alpha1.FTPSServer, ordinal int32) (first, last int32) {
	if Shared(srv) {
		return WholePortRange(srv)
	}
	n := srv.Spec.Passive.PortsPerReplicaOrDefault()
	first = srv.Spec.Passive.PortRangeStartOrDefault() + ordinal*n
	return first, first + n - 1
}

// WholePortRange is the passive range of every replica together, inclusive.
// With zero replicas it is one replica's slice, so that the file stays valid.
func WholePortRange(srv *v1alpha1.FTPSServer) (first, last int32) {
	r := max(Replicas(srv), 1)
	first = srv.Spec.Passive.PortRangeStartOrDefault()
	return first, first + r*srv.Spec.Passive.PortsPerReplicaOrDefault() - 1
}

// FormatRange writes "first-last".
func FormatRange(first, last int32) string { return fmt.Sprintf("%d-%d", first, last) }

// ControlPort is the public explicit FTPS port, spec.ports.control with its
// default (ServerPorts.ControlOrDefault).
func ControlPort(srv *v1alpha1.FTPSServer) int32 { return srv.Spec.Ports.ControlOrDefault() }
