package users

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// usernamePattern is the FTPSUser CRD's pattern for spec.username.
var usernamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// maxFileSize bounds what LoadFile reads; a users file of a few thousand
// users is well below it.
const maxFileSize = 16 << 20

// DB is an immutable, validated snapshot of the users file. It is safe for
// concurrent use.
type DB struct {
	users map[string]*entry
	// dummyParams are the hash parameters most of the users' hashes have;
	// failed logins for unknown users spend a verification with them.
	dummyParams hashParams
}

func emptyDB() *DB {
	return &DB{users: map[string]*entry{}, dummyParams: defaultHashParams}
}

// entry is a validated user with its hash parsed once.
type entry struct {
	user        User
	hash        *passwordHash // nil for a certificate-only user
	fingerprint []byte        // decoded ClientCertificate.SHA256Fingerprint, nil if unset
}

// Parse reads a users file. Unknown fields and duplicate keys are errors, so
// that a typo ("pasword") is refused rather than ignored; every user is then
// validated as NewDB does. An empty document is a DB with no users.
func Parse(data []byte) (*DB, error) {
	var f File
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	// yaml.UnmarshalStrict matches field names the way encoding/json does,
	// without regard to case, so "Username" or "passwordhash" would pass.
	// Decode once more, case-sensitively, for the names alone.
	if j, err := yaml.YAMLToJSONStrict(data); err == nil {
		strictErrs, _ := kjson.UnmarshalStrict(j, &File{}, kjson.DisallowUnknownFields)
		if len(strictErrs) > 0 {
			return nil, fmt.Errorf("users file: %w (field names are case-sensitive)", errors.Join(strictErrs...))
		}
	}
	return NewDB(f.Users)
}

// LoadFile reads and parses the users file at path.
func LoadFile(path string) (*DB, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer fh.Close()
	buf, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	if len(buf) > maxFileSize {
		return nil, fmt.Errorf("users file %s: larger than %d bytes", path, maxFileSize)
	}
	db, err := Parse(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// NewDB validates list and returns a snapshot of it; list is copied. All
// problems are reported together, each naming the user and the field.
func NewDB(list []User) (*DB, error) {
	db := &DB{users: make(map[string]*entry, len(list)), dummyParams: defaultHashParams}
	counts := map[hashParams]int{}
	best := 0
	var errs []error
	for i := range list {
		e, uerrs := validateUser(&list[i])
		where := fmt.Sprintf("users[%d]", i)
		if list[i].Username != "" {
			where += fmt.Sprintf(" (%q)", list[i].Username)
		}
		for _, err := range uerrs {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if e == nil {
			continue
		}
		if _, dup := db.users[e.user.Username]; dup {
			errs = append(errs, fmt.Errorf("%s: username: %q appears more than once; usernames must be unique", where, e.user.Username))
			continue
		}
		db.users[e.user.Username] = e
		if e.hash != nil {
			p := e.hash.params()
			counts[p]++
			if counts[p] > best { // ties go to the earliest in the file
				best, db.dummyParams = counts[p], p
			}
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return db, nil
}

// ValidationError lists every problem found in a users file.
type ValidationError struct {
	Errors []error
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, err := range e.Errors {
		msgs[i] = err.Error()
	}
	if len(msgs) == 1 {
		return "invalid users file: " + msgs[0]
	}
	return fmt.Sprintf("invalid users file (%d problems): %s", len(msgs), strings.Join(msgs, "; "))
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (e *ValidationError) Unwrap() []error { return e.Errors }

// validateUser returns the user's entry, or nil and the problems found. The
// errors start with the field's JSON name.
func validateUser(u *User) (*entry, []error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	e := &entry{user: *u.clone()}

	if !usernamePattern.MatchString(u.Username) {
		if u.Username == "" {
			fail("username", "must be set")
		} else {
			fail("username", "must match %s (lower-case letters, digits, '.', '_', '-', at most 64 characters, starting and ending with a letter or digit)", usernamePattern)
		}
	}

	if u.PasswordHash != "" {
		h, err := parsePasswordHash(u.PasswordHash)
		if err != nil {
			fail("passwordHash", "%v", err)
		}
		e.hash = h
	} else if u.ClientCertificate == nil {
		fail("passwordHash", "must be set unless clientCertificate is set (a user needs some way to log in)")
	}

	if err := validateHome(u.Home); err != nil {
		fail("home", "%v", err)
	}

	for i, p := range u.Permissions {
		if !p.Valid() {
			fail(fmt.Sprintf("permissions[%d]", i), "%q is not one of List, Read, Write, Delete, Rename, MakeDir", p)
		}
	}

	if cc := u.ClientCertificate; cc != nil {
		if cc.CommonName == "" && cc.SHA256Fingerprint == "" {
			fail("clientCertificate", "must set commonName or sha256Fingerprint")
		}
		if cc.SHA256Fingerprint != "" {
			fp, err := decodeFingerprint(cc.SHA256Fingerprint)
			if err != nil {
				fail("clientCertificate.sha256Fingerprint", "%v", err)
			}
			e.fingerprint = fp
		}
		if strings.TrimSpace(cc.CommonName) != cc.CommonName {
			fail("clientCertificate.commonName", "must not start or end with white space")
		}
	}

	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

// validateHome refuses homes that are absolute or could climb out of the
// server root.
func validateHome(home string) error {
	if home == "" {
		return nil
	}
	switch {
	case strings.ContainsRune(home, 0):
		return errors.New("must not contain a NUL byte")
	case strings.ContainsRune(home, '\\'):
		return errors.New(`must use '/' as separator, not '\'`)
	case strings.HasPrefix(home, "/"):
		return errors.New("must be relative to the server root, not absolute")
	case len(home) >= 2 && home[1] == ':':
		return errors.New("must be relative to the server root, not a drive path")
	}
	for _, elem := range strings.Split(home, "/") {
		if elem == ".." {
			return errors.New(`must not contain ".."`)
		}
	}
	return nil
}

// decodeFingerprint reads a SHA-256 fingerprint written as hex, with or
// without colons (or spaces), in either case.
func decodeFingerprint(s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(strings.ToLower(clean))
	if err != nil {
		return nil, errors.New("must be hexadecimal (colons and case are ignored)")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("must be 32 bytes (64 hex digits) long, got %d bytes", len(b))
	}
	return b, nil
}

// Lookup returns a copy of the named user. Usernames are matched exactly.
func (db *DB) Lookup(username string) (*User, bool) {
	e, ok := db.lookup(username)
	if !ok {
		return nil, false
	}
	return e.user.clone(), true
}

func (db *DB) lookup(username string) (*entry, bool) {
	if db == nil {
		return nil, false
	}
	e, ok := db.users[username]
	return e, ok
}

// Len returns the number of users.
func (db *DB) Len() int {
	if db == nil {
		return 0
	}
	return len(db.users)
}

// Usernames returns the usernames, sorted.
func (db *DB) Usernames() []string {
	if db == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(db.users))
}
