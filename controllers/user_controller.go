package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// Reasons of an FTPSUser's Ready condition.
const (
	ReasonServerNotFound         = "ServerNotFound"
	ReasonPasswordSecretNotFound = "PasswordSecretNotFound"
	ReasonDuplicateUsername      = "DuplicateUsername"
	ReasonPasswordTooLong        = "PasswordTooLong"
)

// serverGrace is how long a new user waits for its server before it
// reports ServerNotFound. Tools that apply many manifests at once (kubectl
// apply -f on a folder, Argo CD, Flux) often create a user a moment before
// its server; reporting ServerNotFound and then Ready a second later would
// only make its status flap (and cost two writes instead of one).
const serverGrace = 5 * time.Second

// maxPasswordBytes is bcrypt's limit; users.HashPassword refuses longer
// passwords rather than truncate them, and the server leaves such a user out.
const maxPasswordBytes = 72

// FTPSUserReconciler reports on each FTPSUser whether it made it into its
// server's users file. The server reconciler does the rendering; both use
// render.WinningUsers so that they agree on duplicates.
type FTPSUserReconciler struct {
	Client client.Client
	// MaxConcurrentReconciles: 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// Reconcile computes and writes one FTPSUser's Ready condition.
func (r *FTPSUserReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	u := &v1alpha1.FTPSUser{}
	if err := r.Client.Get(ctx, req.NamespacedName, u); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !u.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	status, reason, msg, err := r.readiness(ctx, u)
	if err != nil {
		return ctrl.Result{}, err
	}
	if reason == ReasonServerNotFound && meta.FindStatusCondition(u.Status.Conditions, v1alpha1.ConditionReady) == nil {
		// The server's creation, if it comes, reconciles this user again.
		if age := time.Since(u.CreationTimestamp.Time); age < serverGrace {
			return ctrl.Result{RequeueAfter: serverGrace - age}, nil
		}
	}
	st := *u.Status.DeepCopy()
	st.ObservedGeneration = u.Generation
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionReady, Status: status, Reason: reason, Message: msg, ObservedGeneration: u.Generation,
	})
	if equality.Semantic.DeepEqual(st, u.Status) {
		return ctrl.Result{}, nil
	}
	base := u.DeepCopy()
	u.Status = st
	err = r.Client.Status().Patch(ctx, u, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		// A newer user than the cached one exists: its watch event
		// reconciles it again.
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, err
}

func (r *FTPSUserReconciler) readiness(ctx context.Context, u *v1alpha1.FTPSUser) (metav1.ConditionStatus, string, string, error) {
	srv := &v1alpha1.FTPSServer{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.Namespace, Name: u.Spec.ServerRef.Name}, srv); err != nil {
		if !apierrors.IsNotFound(err) {
			return "", "", "", err
		}
		return metav1.ConditionFalse, ReasonServerNotFound,
			fmt.Sprintf("spec.serverRef: FTPSServer %q does not exist in namespace %s", u.Spec.ServerRef.Name, u.Namespace), nil
	}
	if ref := u.Spec.PasswordSecretRef; ref != nil {
		s := &corev1.Secret{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.Namespace, Name: ref.Name}, s); err != nil {
			if !apierrors.IsNotFound(err) {
				return "", "", "", err
			}
			return metav1.ConditionFalse, ReasonPasswordSecretNotFound,
				fmt.Sprintf("spec.passwordSecretRef: Secret %q does not exist in namespace %s; the user cannot log in until it does", ref.Name, u.Namespace), nil
		}
		pw := s.Data[ref.KeyOrDefault()]
		if len(pw) == 0 {
			return metav1.ConditionFalse, ReasonPasswordSecretNotFound,
				fmt.Sprintf("spec.passwordSecretRef: Secret %q has no key %q (or it is empty)", ref.Name, ref.KeyOrDefault()), nil
		}
		if len(pw) > maxPasswordBytes {
			return metav1.ConditionFalse, ReasonPasswordTooLong,
				fmt.Sprintf("the password in Secret %q is %d bytes; bcrypt uses at most %d, so choose a shorter one", ref.Name, len(pw), maxPasswordBytes), nil
		}
	}
	var list v1alpha1.FTPSUserList
	if err := r.Client.List(ctx, &list, client.InNamespace(u.Namespace), client.MatchingFields{indexUserServer: u.Spec.ServerRef.Name}); err != nil {
		return "", "", "", err
	}
	var live []v1alpha1.FTPSUser
	for _, o := range list.Items {
		if o.DeletionTimestamp.IsZero() {
			live = append(live, o)
		}
	}
	if _, dups := render.WinningUsers(live); dups[u.Name] != "" {
		return metav1.ConditionFalse, ReasonDuplicateUsername,
			fmt.Sprintf("username %q is already taken on server %s by FTPSUser %q (the older one wins); choose another username", u.Spec.Username, u.Spec.ServerRef.Name, dups[u.Name]), nil
	}
	return metav1.ConditionTrue, ReasonReady, fmt.Sprintf("in the users file of server %s", u.Spec.ServerRef.Name), nil
}

// SetupWithManager registers the reconciler and its watches.
func (r *FTPSUserReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("ftpsuser").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		For(&v1alpha1.FTPSUser{}).
		Watches(&v1alpha1.FTPSUser{}, handler.EnqueueRequestsFromMapFunc(usersWithSameServer(c))).
		Watches(&v1alpha1.FTPSServer{}, handler.EnqueueRequestsFromMapFunc(usersOfServer(c))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(usersOfSecret(c))).
		Complete(r)
}
