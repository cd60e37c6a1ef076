package controllers

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// Field indexes of the manager's cache: each answers "which objects refer
// to this one?" so that a change of a policy, user or Secret reconciles
// exactly the servers and users that depend on it.
const (
	// indexUserServer: FTPSUser by spec.serverRef.name.
	indexUserServer = "spec.serverRef.name"
	// indexUserPasswordSecret: FTPSUser by spec.passwordSecretRef.name.
	indexUserPasswordSecret = "spec.passwordSecretRef.name"
	// indexServerPolicy: FTPSServer by spec.policyRef.name.
	indexServerPolicy = "spec.policyRef.name"
	// indexServerSecrets: FTPSServer by every Secret it reads (the TLS
	// Secret, the client CA Secret).
	indexServerSecrets = "ftps.dev/secrets"
)

// SetupIndexes registers the field indexes both reconcilers use. Call it
// once per manager, before the reconcilers' SetupWithManager.
func SetupIndexes(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &v1alpha1.FTPSUser{}, indexUserServer, func(o client.Object) []string {
		return []string{o.(*v1alpha1.FTPSUser).Spec.ServerRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.FTPSUser{}, indexUserPasswordSecret, func(o client.Object) []string {
		if ref := o.(*v1alpha1.FTPSUser).Spec.PasswordSecretRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.FTPSServer{}, indexServerPolicy, func(o client.Object) []string {
		if ref := o.(*v1alpha1.FTPSServer).Spec.PolicyRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &v1alpha1.FTPSServer{}, indexServerSecrets, func(o client.Object) []string {
		srv := o.(*v1alpha1.FTPSServer)
		tls := srv.Spec.TLS
		// The Secret the pods mount: brought, or filled by cert-manager
		// (which does not make the server its owner).
		out := []string{render.TLSSecretName(srv)}
		if tls.ClientCA != nil {
			out = append(out, tls.ClientCA.SecretName)
		}
		return out
	})
}

// serversUsingPolicy maps an FTPSPolicy to the servers that refer to it.
func serversUsingPolicy(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.FTPSServerList
		if err := c.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexServerPolicy: o.GetName()}); err != nil {
			return nil
		}
		return serverRequests(list.Items)
	}
}

// serverOfUser maps an FTPSUser to its server. For an update the handler
// calls it with the old and the new object, so a user moved to another
// server reconciles both.
func serverOfUser(_ context.Context, o client.Object) []reconcile.Request {
	u := o.(*v1alpha1.FTPSUser)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: u.Namespace, Name: u.Spec.ServerRef.Name}}}
}

// serversUsingSecret maps a Secret to the servers that read it: directly
// (TLS, client CA) or through one of their users' password.
func serversUsingSecret(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var servers v1alpha1.FTPSServerList
		if err := c.List(ctx, &servers, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexServerSecrets: o.GetName()}); err != nil {
			return nil
		}
		reqs := serverRequests(servers.Items)
		var users v1alpha1.FTPSUserList
		if err := c.List(ctx, &users, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUserPasswordSecret: o.GetName()}); err != nil {
			return reqs
		}
		seen := map[reconcile.Request]bool{}
		for _, r := range reqs {
			seen[r] = true
		}
		for i := range users.Items {
			r := serverOfUser(ctx, &users.Items[i])[0]
			if !seen[r] {
				seen[r] = true
				reqs = append(reqs, r)
			}
		}
		return reqs
	}
}

// usersOfSecret maps a Secret to the users whose password it holds.
func usersOfSecret(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var users v1alpha1.FTPSUserList
		if err := c.List(ctx, &users, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUserPasswordSecret: o.GetName()}); err != nil {
			return nil
		}
		return userRequests(users.Items)
	}
}

// usersOfServer maps an FTPSServer to its users, so that their Ready
// condition follows the server's existence.
func usersOfServer(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var users v1alpha1.FTPSUserList
		if err := c.List(ctx, &users, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexUserServer: o.GetName()}); err != nil {
			return nil
		}
		return userRequests(users.Items)
	}
}

// usersWithSameServer maps an FTPSUser to every user of the same server, so
// that deleting the winner of a duplicate username frees the other one.
func usersWithSameServer(c client.Reader) func(context.Context, client.Object) []reconcile.Request {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		u := o.(*v1alpha1.FTPSUser)
		var users v1alpha1.FTPSUserList
		if err := c.List(ctx, &users, client.InNamespace(u.Namespace), client.MatchingFields{indexUserServer: u.Spec.ServerRef.Name}); err != nil {
			return nil
		}
		return userRequests(users.Items)
	}
}

func serverRequests(items []v1alpha1.FTPSServer) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for _, s := range items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
	}
	return out
}

func userRequests(items []v1alpha1.FTPSUser) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for _, u := range items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&u)})
	}
	return out
}
