package render

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

func user(name, username string, created time.Time) v1alpha1.FTPSUser {
	return v1alpha1.FTPSUser{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ftps", CreationTimestamp: metav1.NewTime(created)},
		Spec: v1alpha1.FTPSUserSpec{
			ServerRef: v1alpha1.LocalObjectReference{Name: "exchange"},
			Username:  username,
		},
	}
}

func TestUsersSecretParsesInFtpsd(t *testing.T) {
	hash, err := users.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bob := user("bob", "bob", t0)
	bob.Spec.ClientCertificate = &v1alpha1.ClientCertificateIdentity{CommonName: "bob"}
	bob.Spec.Permissions = []v1alpha1.Permission{v1alpha1.PermissionWrite, v1alpha1.PermissionList}
	alice := user("alice", "alice", t0)
	alice.Spec.HomeDirectory = "partners/alice"
	s, err := UsersSecret(sampleServer(), []ResolvedUser{{User: &bob}, {User: &alice, PasswordHash: hash}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "exchange-users" || len(s.Data) != 1 {
		t.Errorf("secret %s with %d keys", s.Name, len(s.Data))
	}
	db, err := users.Parse(s.Data[UsersKey])
	if err != nil {
		t.Fatalf("ftpsd refuses the users file: %v\n%s", err, s.Data[UsersKey])
	}
	if got := db.Usernames(); len(got) != 2 {
		t.Errorf("usernames %v", got)
	}
	a, _ := db.Lookup("alice")
	if !a.Can(users.PermRead) || a.Can(users.PermWrite) || a.HomeDir() != "partners/alice" {
		t.Errorf("alice %+v", a)
	}
	if _, err := users.NewStore(db).Authenticate("alice", "correct horse"); err != nil {
		t.Errorf("alice cannot log in: %v", err)
	}
	if got := ExistingHashes(s); got["alice"] != hash || len(got) != 1 {
		t.Errorf("ExistingHashes %v", got)
	}
	// Same input, same bytes: no spurious writes.
	s2, _ := UsersSecret(sampleServer(), []ResolvedUser{{User: &alice, PasswordHash: hash}, {User: &bob}})
	if string(s2.Data[UsersKey]) != string(s.Data[UsersKey]) {
		t.Error("users.yaml depends on the order of the users")
	}
}

func TestUsersSecretEmpty(t *testing.T) {
	s, err := UsersSecret(sampleServer(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Parse(s.Data[UsersKey]); err != nil {
		t.Errorf("empty users file refused: %v (%s)", err, s.Data[UsersKey])
	}
}

func TestWinningUsers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	list := []v1alpha1.FTPSUser{
		user("b-late", "alice", t0.Add(time.Hour)),
		user("a-first", "alice", t0),
		user("c-same-time", "alice", t0),
		user("carol", "carol", t0),
	}
	winners, dups := WinningUsers(list)
	if len(winners) != 2 || winners[0].Name != "a-first" || winners[1].Name != "carol" {
		t.Errorf("winners %v", winners)
	}
	if dups["b-late"] != "a-first" || dups["c-same-time"] != "a-first" || len(dups) != 2 {
		t.Errorf("duplicates %v", dups)
	}
}
