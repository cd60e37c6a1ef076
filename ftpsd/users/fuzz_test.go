package users

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzParse feeds arbitrary bytes to the users file parser. It must never
// panic, and whatever it accepts must hold the invariants the engine relies
// on: valid names and permissions, homes that stay under the root, a way to
// log in, and a DB that survives a round trip through YAML unchanged.
// Seeds are in testdata/fuzz/FuzzParse, plus the ones added here.
func FuzzParse(f *testing.F) {
	f.Add([]byte("users:\n- username: alice\n  passwordHash: " + testBcrypt + "\n  permissions: [List, Read]\n"))
	f.Add([]byte("users:\n- {username: bob, passwordHash: '" + testArgon2 + "', home: a/b}\n"))
	f.Add([]byte("users:\n- {username: c, clientCertificate: {sha256Fingerprint: '" + testFingerprint + "'}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := Parse(data)
		if err != nil {
			if db != nil {
				t.Fatal("Parse returned both a DB and an error")
			}
			return
		}
		var round File
		for _, name := range db.Usernames() {
			u, ok := db.Lookup(name)
			if !ok || u.Username != name {
				t.Fatalf("Usernames lists %q but Lookup does not find it", name)
			}
			if !usernamePattern.MatchString(name) {
				t.Fatalf("accepted username %q", name)
			}
			home := u.HomeDir()
			if home == ".." || strings.HasPrefix(home, "../") || strings.HasPrefix(home, "/") || strings.Contains(home, "/../") {
				t.Fatalf("user %q: HomeDir %q escapes the root", name, home)
			}
			if u.PasswordHash == "" && u.ClientCertificate == nil {
				t.Fatalf("user %q has no way to log in", name)
			}
			if u.PasswordHash != "" && ValidatePasswordHash(u.PasswordHash) != nil {
				t.Fatalf("user %q: accepted an invalid hash", name)
			}
			for _, p := range u.Permissions {
				if !p.Valid() {
					t.Fatalf("user %q: accepted permission %q", name, p)
				}
			}
			round.Users = append(round.Users, *u)
		}
		out, err := yaml.Marshal(round)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		db2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", out, err)
		}
		if db2.Len() != db.Len() {
			t.Fatalf("round trip changed the number of users: %d -> %d", db.Len(), db2.Len())
		}
		for _, u := range round.Users {
			u2, ok := db2.Lookup(u.Username)
			if !ok {
				t.Fatalf("round trip lost user %q", u.Username)
			}
			if !reflect.DeepEqual(normalUser(&u), normalUser(u2)) {
				t.Fatalf("round trip changed user %q: %+v -> %+v", u.Username, u, *u2)
			}
		}
	})
}

// normalUser is u as the engine sees it: an empty permission list and an
// absent one mean the same (no permission).
func normalUser(u *User) User {
	n := *u
	if len(n.Permissions) == 0 {
		n.Permissions = nil
	}
	return n
}
