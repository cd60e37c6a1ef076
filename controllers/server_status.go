package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// Reasons of the server's conditions (CertificateReady's are in server_tls.go).
const (
	ReasonReady                    = "Ready"
	ReasonCertificateNotReady      = "CertificateNotReady"
	ReasonServicesNotReady         = "ServicesNotReady"
	ReasonNotAvailable             = "NotAvailable"
	ReasonDegraded                 = "Degraded"
	ReasonAddressesAssigned        = "AddressesAssigned"
	ReasonAddressPending           = "AddressPending"
	ReasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	ReasonNoReplicaReady           = "NoReplicaReady"
	ReasonScaledToZero             = "ScaledToZero"
	ReasonRollingOut               = "RollingOut"
	ReasonStable                   = "Stable"
	ReasonAsExpected               = "AsExpected"
	ReasonPolicyNotFound           = "PolicyNotFound"
	ReasonReconcileFailed          = "ReconcileFailed"
	ReasonClientCASecretNotFound   = "ClientCASecretNotFound"
	ReasonStorageResizeUnsupported = "StorageResizeUnsupported"
)

// desiredStatus computes the status from what the reconcile observed. It is
// a pure function of its inputs (and of the previous conditions, whose
// lastTransitionTime it keeps when nothing changed).
func desiredStatus(srv *v1alpha1.FTPSServer, out *childOutcome, reconcileErr error) v1alpha1.FTPSServerStatus {
	st := *srv.Status.DeepCopy()
	gen := srv.Generation
	st.ObservedGeneration = gen
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}

	// CertificateReady.
	if out.tls.reason != "" {
		set(v1alpha1.ConditionCertificateReady, out.tls.status, out.tls.reason, out.tls.message)
	}
	st.Certificate = out.tls.cert

	// ServicesReady, endpoint and passive addresses.
	n := render.Replicas(srv)
	st.Endpoint = out.endpoint
	st.Passive = nil
	var pending []string
	for i := range n {
		first, last := render.ReplicaPortRange(srv, i)
		addr := out.addresses[i]
		st.Passive = append(st.Passive, v1alpha1.PassiveStatus{Replica: i, Address: addr, PortRange: render.FormatRange(first, last)})
		if addr == "" {
			pending = append(pending, fmt.Sprintf("replica %d", i))
		}
	}
	switch {
	case out.endpoint == "":
		set(v1alpha1.ConditionServicesReady, metav1.ConditionFalse, ReasonAddressPending,
			fmt.Sprintf("the control Service %s has no external address yet; until the passive addresses are known ftpsd answers PASV with the address the control connection arrived on", srv.Name))
	case len(pending) > 0:
		set(v1alpha1.ConditionServicesReady, metav1.ConditionFalse, ReasonAddressPending,
			"no passive address known yet for "+strings.Join(pending, ", ")+"; ftpsd answers PASV with the address the control connection arrived on meanwhile")
	default:
		set(v1alpha1.ConditionServicesReady, metav1.ConditionTrue, ReasonAddressesAssigned, "the control and passive Services have their addresses")
	}

	// Available and Progressing, from the StatefulSet.
	sts := out.statefulSet
	st.Replicas, st.ReadyReplicas = 0, 0
	if sts != nil {
		st.Replicas, st.ReadyReplicas = sts.Status.Replicas, sts.Status.ReadyReplicas
	}
	switch {
	case n == 0:
		set(v1alpha1.ConditionAvailable, metav1.ConditionFalse, ReasonScaledToZero, "spec.replicas is 0")
	case st.ReadyReplicas > 0:
		set(v1alpha1.ConditionAvailable, metav1.ConditionTrue, ReasonMinimumReplicasAvailable, fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, n))
	default:
		set(v1alpha1.ConditionAvailable, metav1.ConditionFalse, ReasonNoReplicaReady, fmt.Sprintf("0 of %d replicas ready", n))
	}
	if sts == nil || sts.Status.ObservedGeneration < sts.Generation || sts.Status.UpdatedReplicas < n || sts.Status.ReadyReplicas < n || sts.Status.Replicas > n {
		set(v1alpha1.ConditionProgressing, metav1.ConditionTrue, ReasonRollingOut, fmt.Sprintf("rolling out %d replicas", n))
	} else {
		set(v1alpha1.ConditionProgressing, metav1.ConditionFalse, ReasonStable, "every replica runs the current spec")
	}

	// Degraded: what the operator cannot fix by itself.
	switch {
	case reconcileErr != nil:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, ReasonReconcileFailed, reconcileErr.Error())
	case out.policyErr != nil:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, ReasonPolicyNotFound,
			fmt.Sprintf("spec.policyRef: FTPSPolicy %q does not exist in namespace %s; the secure default policy is enforced until it does", srv.Spec.PolicyRef.Name, srv.Namespace))
	case out.clientCAErr != nil:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, ReasonClientCASecretNotFound,
			fmt.Sprintf("spec.tls.clientCA: Secret %q does not exist in namespace %s; the ftpsd pods cannot start until it does", srv.Spec.TLS.ClientCA.SecretName, srv.Namespace))
	case out.storageResize:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, ReasonStorageResizeUnsupported,
			"spec.storage.size differs from the size of the existing data volumes; the operator cannot resize them yet (a StatefulSet's volumeClaimTemplates are immutable): expand each PVC data-"+srv.Name+"-<n> by hand if the storage class allows it")
	case out.tls.reason == ReasonCertManagerNotInstalled:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, ReasonCertManagerNotInstalled, out.tls.message)
	case out.tls.status == metav1.ConditionFalse && out.tls.reason != ReasonIssuing:
		set(v1alpha1.ConditionDegraded, metav1.ConditionTrue, out.tls.reason, out.tls.message)
	default:
		set(v1alpha1.ConditionDegraded, metav1.ConditionFalse, ReasonAsExpected, "nothing needs attention")
	}

	// Ready summarises.
	isTrue := func(t string) bool { return meta.IsStatusConditionTrue(st.Conditions, t) }
	switch {
	case isTrue(v1alpha1.ConditionDegraded):
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDegraded)
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, ReasonDegraded, c.Message)
	case !isTrue(v1alpha1.ConditionCertificateReady):
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, ReasonCertificateNotReady, "the certificate is not ready")
	case !isTrue(v1alpha1.ConditionServicesReady):
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, ReasonServicesNotReady, "the Services' addresses are not all known")
	case !isTrue(v1alpha1.ConditionAvailable):
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, ReasonNotAvailable, "no ftpsd replica is ready")
	default:
		set(v1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady, "serving FTPS at "+out.endpoint)
	}
	slices.SortFunc(st.Conditions, func(a, b metav1.Condition) int { return strings.Compare(a.Type, b.Type) })
	return st
}

// underWay are the reasons of a False condition that only say the work is
// still being done (the certificate being issued, addresses or pods yet to
// come): a new server starts with them, and they are no news.
var underWay = map[string]bool{
	ReasonIssuing: true, ReasonCertificateNotReady: true, ReasonServicesNotReady: true, ReasonNotAvailable: true,
}

// updateStatus writes the status when it changed, and records an event when
// Ready or CertificateReady changes. A condition's first value records none
// when it only says the work is under way: events are for changes and for
// problems, and a thousand new servers would otherwise make two thousand
// warnings that say nothing.
func (r *FTPSServerReconciler) updateStatus(ctx context.Context, srv *v1alpha1.FTPSServer, out *childOutcome, reconcileErr error) error {
	st := desiredStatus(srv, out, reconcileErr)
	if equality.Semantic.DeepEqual(st, srv.Status) {
		return nil
	}
	for _, t := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionCertificateReady} {
		before, after := meta.FindStatusCondition(srv.Status.Conditions, t), meta.FindStatusCondition(st.Conditions, t)
		if after == nil || (before != nil && before.Status == after.Status && before.Reason == after.Reason) {
			continue
		}
		if before == nil && after.Status != metav1.ConditionTrue && underWay[after.Reason] {
			continue
		}
		typ := corev1.EventTypeNormal
		if after.Status != metav1.ConditionTrue {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(srv, nil, typ, after.Reason, "Reconcile", "%s=%s: %s", t, after.Status, after.Message)
	}
	base := srv.DeepCopy()
	srv.Status = st
	return r.Client.Status().Patch(ctx, srv, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}
