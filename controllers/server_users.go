package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// resolveUsers returns the users that go into srv's users file, their
// passwords hashed. A user whose password Secret or key is missing, or whose
// username another (older) FTPSUser already holds, is left out; the user
// reconciler reports why on that FTPSUser.
func (r *FTPSServerReconciler) resolveUsers(ctx context.Context, srv *v1alpha1.FTPSServer) ([]render.ResolvedUser, error) {
	var list v1alpha1.FTPSUserList
	if err := r.Client.List(ctx, &list, client.InNamespace(srv.Namespace), client.MatchingFields{indexUserServer: srv.Name}); err != nil {
		return nil, err
	}
	var live []v1alpha1.FTPSUser
	for _, u := range list.Items {
		if u.DeletionTimestamp.IsZero() {
			live = append(live, u)
		}
	}
	winners, _ := render.WinningUsers(live)

	existing := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: srv.Namespace, Name: render.UsersSecretName(srv)}, existing); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		existing = nil
	}
	hashes := render.ExistingHashes(existing)

	out := make([]render.ResolvedUser, 0, len(winners))
	for _, u := range winners {
		ru := render.ResolvedUser{User: u}
		if ref := u.Spec.PasswordSecretRef; ref != nil {
			password, ok, err := r.password(ctx, u.Namespace, ref)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			hash, _, err := r.hasher.hash(password, hashes[u.Spec.Username])
			if err != nil {
				// Too long for bcrypt, for example: leave the user out
				// rather than fail every other user.
				continue
			}
			ru.PasswordHash = hash
		}
		out = append(out, ru)
	}
	return out, nil
}

// password reads the plain password of a user; ok is false when the Secret
// or its key does not exist.
func (r *FTPSServerReconciler) password(ctx context.Context, ns string, ref *v1alpha1.SecretKeySelector) (string, bool, error) {
	s := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("reading password Secret %s: %w", ref.Name, err)
	}
	v, ok := s.Data[ref.KeyOrDefault()]
	if !ok || len(v) == 0 {
		return "", false, nil
	}
	return string(v), true, nil
}
