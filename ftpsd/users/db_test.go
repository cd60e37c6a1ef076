package users

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Fixed hashes so that parsing tests need no hashing. testBcrypt is bcrypt
// (cost 4) of "secret"; testArgon2 is argon2id (m=64, t=1, p=1) of "secret".
const (
	testPassword = "secret"
	testArgon2   = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78"
)

var testBcrypt = mustBcrypt(testPassword, bcrypt.MinCost)

func mustBcrypt(pw string, cost int) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

const testFingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"

func TestParseValid(t *testing.T) {
	data := `
users:
- username: alice
  passwordHash: ` + testBcrypt + `
  home: shared/alice/
  permissions: [List, Read, Write, Delete, Rename, MakeDir]
- username: bob.smith_2
  passwordHash: "` + testArgon2 + `"
  disabled: true
- username: backup
  clientCertificate:
    commonName: backup-client
    sha256Fingerprint: "` + strings.ToLower(testFingerprint) + `"
  permissions: [List, Read]
`
	db, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if db.Len() != 3 {
		t.Fatalf("Len = %d, want 3", db.Len())
	}
	alice, ok := db.Lookup("alice")
	if !ok {
		t.Fatal("alice not found")
	}
	if got := alice.HomeDir(); got != "shared/alice" {
		t.Errorf("alice.HomeDir() = %q, want shared/alice", got)
	}
	for _, p := range AllPermissions {
		if !alice.Can(p) {
			t.Errorf("alice cannot %s", p)
		}
	}
	bob, _ := db.Lookup("bob.smith_2")
	if !bob.Disabled || bob.HomeDir() != "bob.smith_2" || bob.Can(PermList) {
		t.Errorf("bob = %+v, HomeDir %q", bob, bob.HomeDir())
	}
	backup, _ := db.Lookup("backup")
	if backup.ClientCertificate == nil || backup.ClientCertificate.CommonName != "backup-client" || backup.Can(PermWrite) {
		t.Errorf("backup = %+v", backup)
	}
	if _, ok := db.Lookup("Alice"); ok {
		t.Error("Lookup is case-sensitive; Alice must not be found")
	}
	if got := strings.Join(db.Usernames(), ","); got != "alice,backup,bob.smith_2" {
		t.Errorf("Usernames = %s", got)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "users: []", "users:\n"} {
		db, err := Parse([]byte(data))
		if err != nil {
			t.Errorf("Parse(%q): %v", data, err)
			continue
		}
		if db.Len() != 0 {
			t.Errorf("Parse(%q).Len() = %d", data, db.Len())
		}
	}
}

func TestParseInvalid(t *testing.T) {
	user := func(fields string) string {
		return "users:\n- " + strings.ReplaceAll(strings.TrimSpace(fields), "\n", "\n  ") + "\n"
	}
	ok := "passwordHash: " + testBcrypt
	tests := []struct {
		name string
		data string
		want []string // substrings of the error
	}{
		{"unknown top-level field", "users: []\nextra: 1\n", []string{"unknown field", "extra"}},
		{"unknown user field", user("username: a\n" + ok + "\npasword: x"), []string{"unknown field", "pasword"}},
		{"field name in the wrong case", user("Username: a\n" + ok), []string{"unknown field", "Username", "case-sensitive"}},
		{"nested field name in the wrong case", user("username: a\nclientCertificate: {CommonName: x}"), []string{"unknown field", "CommonName"}},
		{"duplicate key", user("username: a\nusername: b\n" + ok), []string{"username", "already set"}},
		{"not yaml", "users: [", []string{"users file"}},
		{"users not a list", "users: alice", []string{"users file"}},
		{"missing username", user(ok), []string{"users[0]", "username", "must be set"}},
		{"upper-case username", user("username: Alice\n" + ok), []string{`"Alice"`, "username", "must match"}},
		{"username with space", user("username: al ice\n" + ok), []string{"username", "must match"}},
		{"username ending with dot", user("username: alice.\n" + ok), []string{"username"}},
		{"username too long", user("username: " + strings.Repeat("a", 65) + "\n" + ok), []string{"username"}},
		{"duplicate username", "users:\n- {username: a, passwordHash: " + testBcrypt + "}\n- {username: a, passwordHash: " + testBcrypt + "}\n",
			[]string{"users[1]", "username", "more than once"}},
		{"unknown permission", user("username: a\n" + ok + "\npermissions: [List, Execute]"), []string{"permissions[1]", "Execute"}},
		{"lower-case permission", user("username: a\n" + ok + "\npermissions: [read]"), []string{"permissions[0]", "read"}},
		{"plain password", user("username: a\npasswordHash: hunter2"), []string{"passwordHash", "plain passwords are never accepted"}},
		{"md5-crypt", user("username: a\npasswordHash: $1$saltsalt$qjXMvbEw8oaL.CzflDugX/"), []string{"passwordHash", "MD5", "plain passwords are never accepted"}},
		{"sha512-crypt", user("username: a\npasswordHash: $6$saltsalt$abcdefghijklmnopqrstuvwxyz"), []string{"passwordHash", "SHA-crypt", "plain passwords are never accepted"}},
		{"argon2i", user("username: a\npasswordHash: \"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\""), []string{"passwordHash", "argon2id"}},
		{"bcrypt 2x", user("username: a\npasswordHash: \"$2x$" + testBcrypt[4:] + "\""), []string{"passwordHash", "bcrypt variant"}},
		{"truncated bcrypt", user("username: a\npasswordHash: \"" + testBcrypt[:50] + "\""), []string{"passwordHash", "60"}},
		{"bcrypt bad alphabet", user("username: a\npasswordHash: \"" + testBcrypt[:59] + "!\""), []string{"passwordHash", "alphabet"}},
		{"bcrypt cost 31", user("username: a\npasswordHash: \"$2b$31$" + testBcrypt[7:] + "\""), []string{"passwordHash", "cost 31"}},
		{"bcrypt cost 03", user("username: a\npasswordHash: \"$2b$03$" + testBcrypt[7:] + "\""), []string{"passwordHash", "cost 3"}},
		{"argon2id huge memory", user("username: a\npasswordHash: \"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "m=4194304"}},
		{"argon2id huge time", user("username: a\npasswordHash: \"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "t=1000"}},
		{"argon2id huge parallelism", user("username: a\npasswordHash: \"$argon2id$v=19$m=65536,t=1,p=255$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "p=255"}},
		{"argon2id too much work", user("username: a\npasswordHash: \"$argon2id$v=19$m=262144,t=16,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "m*t"}},
		{"argon2id zero time", user("username: a\npasswordHash: \"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "t=0"}},
		{"argon2id old version", user("username: a\npasswordHash: \"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "version"}},
		{"argon2id no version", user("username: a\npasswordHash: \"$argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "argon2id"}},
		{"argon2id params order", user("username: a\npasswordHash: \"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHRzYWx0$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "m=<number>"}},
		{"argon2id short salt", user("username: a\npasswordHash: \"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$Sm3MnLdCFk0Af+croKgebRoqqmhbKd88iiW3yUOXn78\""), []string{"passwordHash", "salt"}},
		{"argon2id bad base64", user("username: a\npasswordHash: \"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$not*base64\""), []string{"passwordHash", "base64"}},
		{"no hash and no certificate", user("username: a"), []string{"passwordHash", "clientCertificate"}},
		{"empty client certificate", user("username: a\nclientCertificate: {}"), []string{"clientCertificate", "commonName or sha256Fingerprint"}},
		{"fingerprint not hex", user("username: a\nclientCertificate: {sha256Fingerprint: zz}"), []string{"clientCertificate.sha256Fingerprint", "hexadecimal"}},
		{"fingerprint too short", user("username: a\nclientCertificate: {sha256Fingerprint: \"AB:CD\"}"), []string{"clientCertificate.sha256Fingerprint", "32 bytes"}},
		{"common name with space", user("username: a\nclientCertificate: {commonName: \" x\"}"), []string{"clientCertificate.commonName"}},
		{"absolute home", user("username: a\n" + ok + "\nhome: /etc"), []string{"home", "relative"}},
		{"dotdot home", user("username: a\n" + ok + "\nhome: .."), []string{"home", `".."`}},
		{"dotdot inside home", user("username: a\n" + ok + "\nhome: a/../../b"), []string{"home", `".."`}},
		{"backslash home", user("username: a\n" + ok + "\nhome: 'a\\b'"), []string{"home", "separator"}},
		{"drive home", user("username: a\n" + ok + "\nhome: 'C:/x'"), []string{"home", "drive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	data := "users:\n- {username: A, passwordHash: x}\n- {username: b, home: /abs, permissions: [Fly]}\n"
	_, err := Parse([]byte(data))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	// users[0]: username, passwordHash; users[1]: passwordHash, home, permissions[0]
	if len(verr.Errors) != 5 {
		t.Errorf("got %d problems, want 5: %v", len(verr.Errors), err)
	}
}

// A passwordHash that is really a password must never be echoed in logs.
func TestParseErrorDoesNotQuotePassword(t *testing.T) {
	for _, pw := range []string{"Sup3rS3cret!", "$6$notreally$Sup3rS3cret", "$argon2id$Sup3rS3cret", "$2b$Sup3rS3cret"} {
		_, err := Parse([]byte("users:\n- username: a\n  passwordHash: '" + pw + "'\n"))
		if err == nil {
			t.Fatalf("%q accepted", pw)
		}
		if strings.Contains(err.Error(), "Sup3rS3cret") {
			t.Errorf("error quotes the value: %v", err)
		}
	}
}

func TestNewDBCopiesInput(t *testing.T) {
	list := []User{{Username: "a", PasswordHash: testBcrypt, Permissions: []Permission{PermRead}}}
	db, err := NewDB(list)
	if err != nil {
		t.Fatal(err)
	}
	list[0].Permissions[0] = PermDelete
	list[0].Username = "b"
	u, ok := db.Lookup("a")
	if !ok || u.Can(PermDelete) || !u.Can(PermRead) {
		t.Fatalf("DB changed with its input: %+v", u)
	}
	u.Permissions[0] = PermWrite
	u2, _ := db.Lookup("a")
	if u2.Can(PermWrite) {
		t.Fatal("Lookup's result aliases the DB")
	}
}

func TestHomeDir(t *testing.T) {
	tests := []struct {
		user User
		want string
	}{
		{User{Username: "alice"}, "alice"},
		{User{Username: "alice", Home: "data/alice"}, "data/alice"},
		{User{Username: "alice", Home: "data//alice/./"}, "data/alice"},
		{User{Username: "alice", Home: "."}, "."},
		{User{Username: "alice", Home: "./"}, "."},
		// Never validated, still confined.
		{User{Username: "alice", Home: "../../etc"}, "etc"},
		{User{Username: "alice", Home: "/etc/passwd"}, "etc/passwd"},
		{User{Username: "alice", Home: `..\..\x`}, "x"},
		{User{Username: "..", Home: ""}, "."},
	}
	for _, tt := range tests {
		if got := tt.user.HomeDir(); got != tt.want {
			t.Errorf("User{Username: %q, Home: %q}.HomeDir() = %q, want %q", tt.user.Username, tt.user.Home, got, tt.want)
		}
	}
}

func TestCan(t *testing.T) {
	u := &User{Permissions: []Permission{PermList, PermRead}}
	if !u.Can(PermList) || !u.Can(PermRead) || u.Can(PermWrite) || u.Can("") {
		t.Error("Can does not follow Permissions")
	}
	var nilUser *User
	if nilUser.Can(PermList) {
		t.Error("a nil user can list")
	}
	if !PermMakeDir.Valid() || Permission("list").Valid() {
		t.Error("Permission.Valid is wrong")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(path, []byte("users:\n- {username: a, passwordHash: '"+testBcrypt+"'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := LoadFile(path)
	if err != nil || db.Len() != 1 {
		t.Fatalf("LoadFile = %v, %v", db, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("users:\n- {username: a, passwordHash: plain}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadFile(bad) = %v, want an error naming the file", err)
	}
}

// YAML reads 1234 as a number; the username is still the string "1234".
func TestParseNumericUsername(t *testing.T) {
	db, err := Parse([]byte("users:\n- {username: 1234, passwordHash: '" + testBcrypt + "'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.Lookup("1234"); !ok {
		t.Error("user 1234 not found")
	}
}
