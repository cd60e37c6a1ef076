package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// finalizerStorage is on servers with storage.reclaimPolicy Delete: the
// operator deletes their data PVCs before the server goes.
const finalizerStorage = "ftps.dev/delete-storage"

// DefaultImage is the ftpsd image used when spec.image is empty.
const DefaultImage = "ghcr.io/ftps-operator/ftpsd:latest"

// FTPSServerReconciler renders and applies the children of each FTPSServer
// (Certificate or TLS Secret, ConfigMap, users Secret, StatefulSet,
// Services, PodDisruptionBudget) and reports what it observed in its status.
type FTPSServerReconciler struct {
	Client client.Client
	// APIReader reads around the cache where a stale read would do harm
	// (before making a new self-signed certificate).
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.Clock
	// DefaultImage is the ftpsd image of servers without spec.image.
	DefaultImage string
	CertManager  *CertManagerDetector
	// MaxConcurrentReconciles: 0 means controller-runtime's default.
	MaxConcurrentReconciles int

	hasher *passwordHasher
	// watchingCertificates: SetupWithManager registered the Certificate
	// watch, so a Certificate's progress reconciles its server by itself.
	watchingCertificates bool
}

// childOutcome gathers what the reconcile learnt on the way, for the status.
type childOutcome struct {
	tls         tlsOutcome
	policyErr   error
	clientCAErr error
	clientCA    []byte // the client CA bundle's content, nil without spec.tls.clientCA
	// storageResize: spec.storage.size differs from the volumes' size.
	storageResize bool
	addresses     map[int32]string
	endpoint      string
	statefulSet   *appsv1.StatefulSet
	requeueAfter  time.Duration
	wrote         int
}

func (o *childOutcome) requeue(d time.Duration) {
	if d > 0 && (o.requeueAfter == 0 || d < o.requeueAfter) {
		o.requeueAfter = d
	}
}

// Reconcile brings one FTPSServer's children to its spec.
func (r *FTPSServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	srv := &v1alpha1.FTPSServer{}
	if err := r.Client.Get(ctx, req.NamespacedName, srv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !srv.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, srv)
	}
	if err := r.syncFinalizer(ctx, srv); err != nil {
		return ctrl.Result{}, err
	}

	out := &childOutcome{}
	err := r.reconcileChildren(ctx, srv, out)
	if err != nil {
		log.Error(err, "reconciling children")
	}
	if serr := r.updateStatus(ctx, srv, out, err); serr != nil {
		if err == nil && apierrors.IsConflict(serr) {
			// The cache held an older server than the API server: the
			// newer one's watch event reconciles it again, so this is no
			// error to back off from.
			log.V(1).Info("status write conflicted; the newer server is reconciled next")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, errors.Join(err, serr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if out.wrote > 0 {
		log.V(1).Info("applied children", "writes", out.wrote)
	}
	return ctrl.Result{RequeueAfter: out.requeueAfter}, nil
}

func (r *FTPSServerReconciler) reconcileChildren(ctx context.Context, srv *v1alpha1.FTPSServer, out *childOutcome) error {
	a := applier{client: r.Client, reader: r.APIReader, scheme: r.Scheme}
	apply := func(obj client.Object) error {
		wrote, err := a.apply(ctx, srv, obj)
		if wrote {
			out.wrote++
		}
		return err
	}

	policy, err := r.policy(ctx, srv)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		// A missing policy is reported (Degraded) and the secure defaults
		// are enforced meanwhile: never weaker than what was asked.
		out.policyErr = err
		policy = nil
	}

	if ca := srv.Spec.TLS.ClientCA; ca != nil {
		s := &corev1.Secret{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: ca.SecretName}, s); err != nil {
			if !apierrors.IsNotFound(err) {
				return err
			}
			// The pods cannot start without it: say so (Degraded).
			out.clientCAErr = err
		} else {
			// ftpsd reads the bundle only at start: its content is part of
			// the restart hash.
			out.clientCA = s.Data[ca.KeyOrDefault()]
			if out.clientCA == nil {
				out.clientCA = []byte{}
			}
		}
	}

	tlsOut, err := r.reconcileTLS(ctx, srv, apply)
	if err != nil {
		return err
	}
	out.tls = tlsOut
	out.requeue(tlsOut.requeueAfter)

	if err := r.reconcileServices(ctx, srv, apply, out); err != nil {
		return err
	}

	resolved, err := r.resolveUsers(ctx, srv)
	if err != nil {
		return err
	}
	usersSecret, err := render.UsersSecret(srv, resolved)
	if err != nil {
		return err
	}
	if err := apply(usersSecret); err != nil {
		return err
	}

	cfg := render.FTPSDConfig(srv, policy, out.addresses)
	cm, err := render.ConfigMap(srv, cfg)
	if err != nil {
		return err
	}
	if err := apply(cm); err != nil {
		return err
	}

	image := r.DefaultImage
	if image == "" {
		image = DefaultImage
	}
	cur := &appsv1.StatefulSet{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: srv.Name}, cur); {
	case err == nil:
	case apierrors.IsNotFound(err):
		cur = nil
	default:
		return err
	}
	desired := render.StatefulSet(srv, image, render.RestartHash(cfg, out.clientCA))
	if cur != nil && !sameClaimSizes(cur, desired) {
		// A StatefulSet's volumeClaimTemplates cannot change. Keep the
		// current ones so that everything else still rolls out, and say
		// that the new size is not applied (volume expansion is not
		// implemented yet).
		desired.Spec.VolumeClaimTemplates = claimTemplatesOf(cur)
		out.storageResize = true
	}
	if err := apply(desired); err != nil {
		return err
	}
	if err := apply(render.PodDisruptionBudget(srv)); err != nil {
		return err
	}
	out.statefulSet = cur
	return nil
}

// sameClaimSizes reports whether the StatefulSets ask the same storage of
// their claim templates.
func sameClaimSizes(a, b *appsv1.StatefulSet) bool {
	if len(a.Spec.VolumeClaimTemplates) != len(b.Spec.VolumeClaimTemplates) {
		return false
	}
	for i := range a.Spec.VolumeClaimTemplates {
		qa := a.Spec.VolumeClaimTemplates[i].Spec.Resources.Requests[corev1.ResourceStorage]
		qb := b.Spec.VolumeClaimTemplates[i].Spec.Resources.Requests[corev1.ResourceStorage]
		if qa.Cmp(qb) != 0 {
			return false
		}
	}
	return true
}

// claimTemplatesOf returns the claim templates of sts as they can be applied.
func claimTemplatesOf(sts *appsv1.StatefulSet) []corev1.PersistentVolumeClaim {
	out := make([]corev1.PersistentVolumeClaim, 0, len(sts.Spec.VolumeClaimTemplates))
	for _, c := range sts.Spec.VolumeClaimTemplates {
		c := *c.DeepCopy()
		c.Status = corev1.PersistentVolumeClaimStatus{}
		c.CreationTimestamp = metav1.Time{}
		out = append(out, c)
	}
	return out
}

// policy returns the spec of the FTPSPolicy srv refers to, or nil for none.
func (r *FTPSServerReconciler) policy(ctx context.Context, srv *v1alpha1.FTPSServer) (*v1alpha1.FTPSPolicySpec, error) {
	if srv.Spec.PolicyRef == nil {
		return nil, nil
	}
	p := &v1alpha1.FTPSPolicy{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: srv.Spec.PolicyRef.Name}, p); err != nil {
		return nil, err
	}
	return &p.Spec, nil
}

// syncFinalizer keeps the storage finalizer exactly on servers whose
// volumes go with them.
func (r *FTPSServerReconciler) syncFinalizer(ctx context.Context, srv *v1alpha1.FTPSServer) error {
	want := srv.Spec.Storage.ReclaimPolicyOrDefault() == v1alpha1.ReclaimDelete && srv.Spec.Storage.ExistingClaim == ""
	if want == controllerutil.ContainsFinalizer(srv, finalizerStorage) {
		return nil
	}
	base := srv.DeepCopy()
	if want {
		controllerutil.AddFinalizer(srv, finalizerStorage)
	} else {
		controllerutil.RemoveFinalizer(srv, finalizerStorage)
	}
	return r.Client.Patch(ctx, srv, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// SetupWithManager registers the reconciler and its watches. Certificates
// are watched only when cert-manager is installed when the manager starts.
func (r *FTPSServerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("ftps-operator")
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.CertManager == nil {
		return fmt.Errorf("FTPSServerReconciler: CertManager detector is required")
	}
	r.hasher = newPasswordHasher()
	c := mgr.GetClient()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("ftpsserver").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		For(&v1alpha1.FTPSServer{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.Secret{}).
		Owns(&corev1.Service{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Watches(&v1alpha1.FTPSPolicy{}, handler.EnqueueRequestsFromMapFunc(serversUsingPolicy(c))).
		Watches(&v1alpha1.FTPSUser{}, handler.EnqueueRequestsFromMapFunc(serverOfUser)).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(serversUsingSecret(c)))
	if r.CertManager.Installed() {
		b = b.Owns(&cmapi.Certificate{})
		r.watchingCertificates = true
	}
	return b.Complete(r)
}
