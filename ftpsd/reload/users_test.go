package reload

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

func usersYAML(t *testing.T, password string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return []byte("users:\n- username: alice\n  passwordHash: '" + string(h) + "'\n  permissions: [List, Read]\n")
}

// The users Secret rotates a password: new logins use it at once, a broken
// file keeps the users in force.
func TestUsersFileLoaderSwapsStore(t *testing.T) {
	k := newKubeletDir(t, map[string][]byte{"users.yaml": usersYAML(t, "old")})
	path := k.path("users.yaml")
	var errs errorLog
	db, err := users.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	store := users.NewStore(db)
	w, err := NewWatcher([]string{path}, UsersFileLoader(path, store), WithPollInterval(0), WithErrorHandler(errs.handle))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)

	k.swap(map[string][]byte{"users.yaml": usersYAML(t, "new")})
	waitFor(t, "the new password", func() bool {
		_, err := store.Authenticate("alice", "new")
		return err == nil
	})
	if _, err := store.Authenticate("alice", "old"); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("old password after rotation: %v", err)
	}

	k.swap(map[string][]byte{"users.yaml": []byte("users:\n- {username: alice, passwordHash: plaintext}\n")})
	waitFor(t, "the parse error", func() bool { return len(errs.snapshot()) == 1 })
	if !strings.Contains(errs.snapshot()[0].Error(), "plain passwords are never accepted") {
		t.Errorf("error: %v", errs.snapshot()[0])
	}
	if _, err := store.Authenticate("alice", "new"); err != nil {
		t.Errorf("a broken file replaced the users in force: %v", err)
	}
}
