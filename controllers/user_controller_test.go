package controllers_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

func userReady(t *testing.T, ns, name string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, fmt.Sprintf("FTPSUser %s Ready=%s/%s", name, status, reason), func() error {
		u := &v1alpha1.FTPSUser{}
		if err := get(ns, name, u); err != nil {
			return err
		}
		c, err := condition(u.Status.Conditions, "Ready")
		if err != nil {
			return err
		}
		if c.Status != status || c.Reason != reason || c.ObservedGeneration != u.Generation || u.Status.ObservedGeneration != u.Generation {
			return fmt.Errorf("Ready %s/%s (gen %d/%d): %s", c.Status, c.Reason, c.ObservedGeneration, u.Generation, c.Message)
		}
		return nil
	})
}

// hashOf is the password hash of username in the server's users file, or
// an error when the user is not there.
func hashOf(ns, server, username string) (string, error) {
	db, _, err := renderedUsers(ns, server)
	if err != nil {
		return "", err
	}
	u, ok := db.Lookup(username)
	if !ok {
		return "", fmt.Errorf("%s not in the users file (%v)", username, db.Usernames())
	}
	return u.PasswordHash, nil
}

// TestUsers adds users, changes a password, leaves one unchanged, removes
// one, and checks the users Secret follows and keeps unchanged hashes.
func TestUsers(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "files")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv,
		passwordSecret(ns, "alice-pw", "alice-password-1"), ftpsUser(ns, "alice", "files", "alice", "alice-pw"),
		passwordSecret(ns, "bob-pw", "bob-password-1"), ftpsUser(ns, "bob", "files", "bob", "bob-pw"))

	var aliceHash, bobHash string
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "alice and bob in the users file", func() error {
		var err error
		if aliceHash, err = hashOf(ns, "files", "alice"); err != nil {
			return err
		}
		bobHash, err = hashOf(ns, "files", "bob")
		return err
	})
	userReady(t, ns, "alice", metav1.ConditionTrue, "Ready")

	// Change alice's password.
	s := &corev1.Secret{}
	if err := get(ns, "alice-pw", s); err != nil {
		t.Fatal(err)
	}
	s.Data["password"] = []byte("alice-password-2")
	if err := k8s.Update(testCtx, s); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "alice's new hash", func() error {
		h, err := hashOf(ns, "files", "alice")
		if err != nil {
			return err
		}
		if h == aliceHash {
			return errors.New("hash unchanged")
		}
		return bcrypt.CompareHashAndPassword([]byte(h), []byte("alice-password-2"))
	})
	if h, _ := hashOf(ns, "files", "bob"); h != bobHash {
		t.Error("bob's unchanged password was hashed again")
	}

	// A user with a client certificate only, and permissions.
	carol := ftpsUser(ns, "carol", "files", "carol", "")
	carol.Spec.ClientCertificate = &v1alpha1.ClientCertificateIdentity{CommonName: "carol"}
	carol.Spec.Permissions = []v1alpha1.Permission{v1alpha1.PermissionList, v1alpha1.PermissionWrite}
	create(t, carol)
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "carol in the users file", func() error {
		db, _, err := renderedUsers(ns, "files")
		if err != nil {
			return err
		}
		c, ok := db.Lookup("carol")
		if !ok || c.PasswordHash != "" || c.ClientCertificate == nil || !c.Can("Write") {
			return fmt.Errorf("carol %+v", c)
		}
		return nil
	})

	// Remove bob.
	bob := &v1alpha1.FTPSUser{}
	if err := get(ns, "bob", bob); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(testCtx, bob); err != nil {
		t.Fatal(err)
	}
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "bob gone from the users file", func() error {
		if _, err := hashOf(ns, "files", "bob"); err == nil {
			return errors.New("bob still there")
		}
		_, err := hashOf(ns, "files", "alice")
		return err
	})
}

// TestUserConditions covers the reasons a user is not Ready.
func TestUserConditions(t *testing.T) {
	ns := namespace(t)
	srv := sampleServer(ns, "conds")
	srv.Spec.TLS.IssuerRef = nil
	srv.Spec.PolicyRef = nil
	create(t, srv,
		ftpsUser(ns, "nosecret", "conds", "nosecret", "missing-pw"))
	userReady(t, ns, "nosecret", metav1.ConditionFalse, "PasswordSecretNotFound")
	if _, err := hashOf(ns, "conds", "nosecret"); err == nil {
		t.Error("a user without its password Secret is in the users file")
	}
	// orphan has neither password nor certificate: CEL refuses it. Give it a certificate.
	orphan := ftpsUser(ns, "orphan", "no-such-server", "orphan", "")
	orphan.Spec.ClientCertificate = &v1alpha1.ClientCertificateIdentity{CommonName: "orphan"}
	create(t, orphan)
	userReady(t, ns, "orphan", metav1.ConditionFalse, "ServerNotFound")

	// The Secret appears: the user becomes Ready and enters the file.
	create(t, passwordSecret(ns, "missing-pw", "now-it-exists"))
	userReady(t, ns, "nosecret", metav1.ConditionTrue, "Ready")
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "nosecret in the users file", func() error {
		_, err := hashOf(ns, "conds", "nosecret")
		return err
	})

	// A second FTPSUser with the same username: the newer one is refused.
	create(t, passwordSecret(ns, "dup-pw", "dup-password"))
	create(t, ftpsUser(ns, "nosecret-again", "conds", "nosecret", "dup-pw"))
	userReady(t, ns, "nosecret-again", metav1.ConditionFalse, "DuplicateUsername")
	userReady(t, ns, "nosecret", metav1.ConditionTrue, "Ready")
	ftptest.Eventually(t, 30*time.Second, 100*time.Millisecond, "the older user keeps the name", func() error {
		h, err := hashOf(ns, "conds", "nosecret")
		if err != nil {
			return err
		}
		return bcrypt.CompareHashAndPassword([]byte(h), []byte("now-it-exists"))
	})
}
