package faults

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
	"github.com/ftps-operator/ftps-operator/internal/render"
)

// userCondition waits until FTPSUser name's Ready condition, for its
// current generation, is status/reason with a message that contains
// mention.
func userCondition(t *testing.T, ns, name, statusReason, mention string) {
	t.Helper()
	ftptest.Eventually(t, time.Minute, 200*time.Millisecond, "FTPSUser "+name+" Ready "+statusReason, func() error {
		u := &v1alpha1.FTPSUser{}
		if err := get(ns, name, u); err != nil {
			return err
		}
		c := meta.FindStatusCondition(u.Status.Conditions, v1alpha1.ConditionReady)
		if c == nil {
			return fmt.Errorf("no Ready condition")
		}
		if got := string(c.Status) + "/" + c.Reason; got != statusReason || c.ObservedGeneration != u.Generation || u.Status.ObservedGeneration != u.Generation {
			return fmt.Errorf("Ready %s (generation %d of %d): %s", got, c.ObservedGeneration, u.Generation, c.Message)
		}
		if !strings.Contains(c.Message, mention) {
			return fmt.Errorf("message %q does not mention %s", c.Message, mention)
		}
		return nil
	})
}

// TestPasswordSecretDeletedAndRecreated deletes the password Secret of one
// of two users. As server_users.go designs it, that user leaves the users
// file (the operator no longer knows the password, so the hash made from
// it is not kept: deleting the Secret revokes the login) and its FTPSUser
// says why, naming the Secret; the other user's hash is not touched, and
// the server stays Ready: its status reports the server, the users report
// themselves. Recreated with a new password, the user is back with a hash
// of the new password.
func TestPasswordSecretDeletedAndRecreated(t *testing.T) {
	ns := namespace(t)
	startManager(t, ns)
	passwords := map[string]string{"alice": "alice-password-1", "bob": "bob-password-1"}
	for username, pw := range passwords {
		secret, user := newUser(ns, "keys", username, pw)
		create(t, secret, user)
	}
	create(t, newServer(ns, "keys", 1))
	waitConverged(t, 2*time.Minute, ns, "keys", passwords)
	userCondition(t, ns, "keys-alice", "True/Ready", "keys")
	db, err := usersFile(ns, "keys")
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := db.Lookup("bob")
	bobHash := bob.PasswordHash

	secret := &corev1.Secret{}
	if err := get(ns, "keys-alice-pw", secret); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(bgCtx, secret); err != nil {
		t.Fatal(err)
	}
	userCondition(t, ns, "keys-alice", "False/PasswordSecretNotFound", `"keys-alice-pw"`)
	withoutAlice := map[string]string{"bob": passwords["bob"]}
	waitConverged(t, time.Minute, ns, "keys", withoutAlice)
	if db, err = usersFile(ns, "keys"); err != nil {
		t.Fatal(err)
	}
	if bob, _ := db.Lookup("bob"); bob.PasswordHash != bobHash {
		t.Error("bob's hash changed when alice's Secret was deleted")
	}

	secret, _ = newUser(ns, "keys", "alice", "alice-password-2")
	create(t, secret)
	passwords["alice"] = "alice-password-2"
	userCondition(t, ns, "keys-alice", "True/Ready", "keys")
	waitConverged(t, time.Minute, ns, "keys", passwords)
	if db, err = usersFile(ns, "keys"); err != nil {
		t.Fatal(err)
	}
	if bob, _ := db.Lookup("bob"); bob.PasswordHash != bobHash {
		t.Error("bob's hash changed when alice's Secret came back")
	}
}

// TestBroughtTLSSecretDeletedAndRecreated: spec.tls.secretName names a
// Secret the user manages. Deleted, the status says so (CertificateReady
// and Degraded False/True SecretNotFound, naming the Secret; Ready False),
// every other child stays as it was, and the operator does not replace
// the user's Secret with one of its own. Recreated with another
// certificate, the status is Ready again and shows the new serial number.
func TestBroughtTLSSecretDeletedAndRecreated(t *testing.T) {
	ns := namespace(t)
	startManager(t, ns)
	srv := newServer(ns, "brought", 1)
	srv.Spec.TLS.SecretName = "brought-cert"
	create(t, newCertUser(ns, "brought", "carol"), srv, broughtSecret(t, srv))
	users := map[string]string{"carol": ""}
	waitConverged(t, 2*time.Minute, ns, "brought", users)

	secret := &corev1.Secret{}
	if err := get(ns, "brought-cert", secret); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(bgCtx, secret); err != nil {
		t.Fatal(err)
	}
	missing := maps.Clone(converged(srv))
	missing[v1alpha1.ConditionCertificateReady] = "False/SecretNotFound"
	missing[v1alpha1.ConditionDegraded] = "True/SecretNotFound"
	missing[v1alpha1.ConditionReady] = "False/Degraded"
	ftptest.Eventually(t, time.Minute, 200*time.Millisecond, "the missing Secret reported", func() error {
		if err := checkServer(ns, "brought", users, missing); err != nil {
			return err
		}
		cur := &v1alpha1.FTPSServer{}
		if err := get(ns, "brought", cur); err != nil {
			return err
		}
		for _, typ := range []string{v1alpha1.ConditionCertificateReady, v1alpha1.ConditionDegraded, v1alpha1.ConditionReady} {
			if c := meta.FindStatusCondition(cur.Status.Conditions, typ); !strings.Contains(c.Message, `"brought-cert"`) {
				return fmt.Errorf("%s message %q does not name the Secret", typ, c.Message)
			}
		}
		return nil
	})
	var list corev1.SecretList
	if err := k8s.List(bgCtx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if s.Name == "brought-cert" || s.Name == render.OperatorTLSSecretName(srv) {
			t.Errorf("Secret %s exists: the operator made a certificate of its own", s.Name)
		}
	}

	create(t, broughtSecret(t, srv))
	waitConverged(t, time.Minute, ns, "brought", users)
}

// broughtSecret is a kubernetes.io/tls Secret brought-cert with a new
// certificate (made by the renderer of self-signed ones, for convenience).
func broughtSecret(t *testing.T, srv *v1alpha1.FTPSServer) *corev1.Secret {
	t.Helper()
	made, err := render.SelfSignedSecret(srv, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: srv.Namespace, Name: srv.Spec.TLS.SecretName},
		Type:       corev1.SecretTypeTLS,
		Data:       made.Data,
	}
}
