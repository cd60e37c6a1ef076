package users

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

func mustDB(t testing.TB, list ...User) *DB {
	t.Helper()
	db, err := NewDB(list)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$10$") {
		t.Errorf("HashPassword = %q, want a cost-10 bcrypt hash", h)
	}
	if err := ValidatePasswordHash(h); err != nil {
		t.Errorf("ValidatePasswordHash(HashPassword()) = %v", err)
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("HashPassword accepted 73 bytes, which bcrypt would truncate")
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
}

func TestHashPasswordArgon2id(t *testing.T) {
	h, err := HashPasswordArgon2id("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("HashPasswordArgon2id = %q", h)
	}
	ph, err := parsePasswordHash(h)
	if err != nil {
		t.Fatalf("parsing our own hash: %v", err)
	}
	if len(ph.salt) != 16 || len(ph.key) != 32 {
		t.Errorf("salt %d bytes, key %d bytes", len(ph.salt), len(ph.key))
	}
}

func TestVerifyPassword(t *testing.T) {
	tests := []struct {
		hash, password string
		want           error
	}{
		{testBcrypt, testPassword, nil},
		{testBcrypt, "nope", ErrInvalidCredentials},
		{testBcrypt, strings.Repeat("x", 73), ErrInvalidCredentials},
		{testArgon2, testPassword, nil},
		{testArgon2, "nope", ErrInvalidCredentials},
	}
	for _, tt := range tests {
		if err := VerifyPassword(tt.hash, tt.password); !errors.Is(err, tt.want) {
			t.Errorf("VerifyPassword(%.12s..., %q) = %v, want %v", tt.hash, tt.password, err, tt.want)
		}
	}
	if err := VerifyPassword("plain", "plain"); err == nil || errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("VerifyPassword with a plain password as hash = %v, want a validation error", err)
	}
}

func TestAuthenticatePassword(t *testing.T) {
	argonHash, err := HashPasswordArgon2id("argon pass")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(mustDB(t,
		User{Username: "bcrypt-user", PasswordHash: testBcrypt, Permissions: []Permission{PermRead}},
		User{Username: "argon-user", PasswordHash: argonHash},
		User{Username: "fixed-argon", PasswordHash: testArgon2},
		User{Username: "y-variant", PasswordHash: "$2y$" + testBcrypt[4:]},
	))
	tests := []struct {
		user, pass string
		wantErr    error
	}{
		{"bcrypt-user", testPassword, nil},
		{"bcrypt-user", "wrong", ErrInvalidCredentials},
		{"bcrypt-user", testPassword + "x", ErrInvalidCredentials},
		{"bcrypt-user", "", ErrInvalidCredentials},
		{"bcrypt-user", strings.Repeat("a", 100), ErrInvalidCredentials},
		{"argon-user", "argon pass", nil},
		{"argon-user", "argon pas", ErrInvalidCredentials},
		{"fixed-argon", testPassword, nil},
		{"fixed-argon", "Secret", ErrInvalidCredentials},
		{"y-variant", testPassword, nil},
		{"y-variant", "nope", ErrInvalidCredentials},
	}
	for _, tt := range tests {
		u, err := s.Authenticate(tt.user, tt.pass)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (u != nil) {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want error %v", tt.user, tt.pass, u, err, tt.wantErr)
			continue
		}
		if u != nil && u.Username != tt.user {
			t.Errorf("Authenticate(%q) returned user %q", tt.user, u.Username)
		}
	}
	u, _ := s.Authenticate("bcrypt-user", testPassword)
	if !u.Can(PermRead) || u.Can(PermWrite) {
		t.Errorf("returned user has the wrong permissions: %+v", u)
	}
}

// Every failed login costs one hash verification, so that timing does not
// tell unknown users from known ones.
func TestAuthenticateUnknownSpendsOneVerification(t *testing.T) {
	s := NewStore(mustDB(t,
		User{Username: "alice", PasswordHash: testBcrypt},
		User{Username: "certonly", ClientCertificate: &ClientCertificate{CommonName: "c"}},
	))
	for _, tc := range []struct{ user, pass string }{
		{"nobody", "whatever"},
		{"nobody", ""},
		{"certonly", "whatever"},
		{"alice", ""},
		{"alice", "wrong"},
	} {
		before := s.Stats().HashVerifications
		if _, err := s.Authenticate(tc.user, tc.pass); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Authenticate(%q, %q) = %v, want ErrInvalidCredentials", tc.user, tc.pass, err)
		}
		if got := s.Stats().HashVerifications - before; got != 1 {
			t.Errorf("Authenticate(%q, %q) ran %d verifications, want 1", tc.user, tc.pass, got)
		}
	}
}

// Unknown users verify against a dummy with the parameters most users have,
// so that they cost the same.
func TestDummyHashMatchesUsersHashes(t *testing.T) {
	cost5 := mustBcrypt("x", 5)
	tests := []struct {
		name  string
		users []User
		want  hashParams
	}{
		{"no users", nil, hashParams{kind: kindBcrypt, cost: bcryptCost}},
		{"certificate users only", []User{{Username: "c", ClientCertificate: &ClientCertificate{CommonName: "c"}}}, hashParams{kind: kindBcrypt, cost: bcryptCost}},
		{"bcrypt cost 5", []User{{Username: "a", PasswordHash: cost5}, {Username: "b", PasswordHash: testArgon2}, {Username: "c", PasswordHash: cost5}}, hashParams{kind: kindBcrypt, cost: 5}},
		{"argon2id", []User{{Username: "a", PasswordHash: testArgon2}}, hashParams{kind: kindArgon2id, memory: 64, time: 1, threads: 1, keyLen: 32}},
	}
	for _, tt := range tests {
		db := mustDB(t, tt.users...)
		if db.dummyParams != tt.want {
			t.Errorf("%s: dummy params %+v, want %+v", tt.name, db.dummyParams, tt.want)
		}
	}
	for _, p := range []hashParams{{kind: kindBcrypt, cost: 5}, {kind: kindArgon2id, memory: 64, time: 1, threads: 1, keyLen: 32}} {
		h := dummyHash(p)
		if h.params() != p {
			t.Errorf("dummyHash(%+v) has params %+v", p, h.params())
		}
		if dummyHash(p) != h {
			t.Errorf("dummyHash(%+v) is made more than once", p)
		}
		if ok, _ := h.verify(""); ok {
			t.Error("the empty password matches a dummy hash")
		}
	}
}

func TestAuthenticateDisabled(t *testing.T) {
	s := NewStore(mustDB(t, User{Username: "gone", PasswordHash: testBcrypt, Disabled: true}))
	if _, err := s.Authenticate("gone", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("disabled user, wrong password: %v, want ErrInvalidCredentials (nothing revealed)", err)
	}
	for range 2 {
		if _, err := s.Authenticate("gone", testPassword); !errors.Is(err, ErrDisabled) {
			t.Errorf("disabled user, right password: %v, want ErrDisabled", err)
		}
	}
	st := s.Stats()
	if st.HashVerifications != 3 || st.CacheEntries != 0 {
		t.Errorf("disabled logins must be verified every time and never cached: %+v", st)
	}
}

func TestAuthenticateCache(t *testing.T) {
	s := NewStore(mustDB(t, User{Username: "alice", PasswordHash: testBcrypt}))
	if _, err := s.Authenticate("alice", testPassword); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.HashVerifications != 1 || got.CacheMisses != 1 || got.CacheEntries != 1 {
		t.Fatalf("after first login: %+v", got)
	}
	for range 5 {
		if _, err := s.Authenticate("alice", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.HashVerifications != 1 || got.CacheHits != 5 {
		t.Fatalf("cached logins ran bcrypt: %+v", got)
	}
	// Wrong passwords are verified every time and never cached.
	for range 3 {
		if _, err := s.Authenticate("alice", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.HashVerifications != 4 || got.CacheEntries != 1 {
		t.Fatalf("failed logins: %+v", got)
	}
}

func TestCredentialCacheOff(t *testing.T) {
	s := NewStore(mustDB(t, User{Username: "alice", PasswordHash: testBcrypt}))
	if _, err := s.Authenticate("alice", testPassword); err != nil {
		t.Fatal(err)
	}
	s.SetCredentialCache(false)
	if got := s.Stats().CacheEntries; got != 0 {
		t.Fatalf("CacheEntries after turning the cache off = %d", got)
	}
	for range 3 {
		if _, err := s.Authenticate("alice", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Authenticate("alice", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatal(err)
	}
	got := s.Stats()
	if got.HashVerifications != 5 || got.CacheEntries != 0 || got.CacheHits != 0 {
		t.Fatalf("with the cache off every login must verify and nothing be kept: %+v", got)
	}
	s.SetCredentialCache(true)
	for range 2 {
		if _, err := s.Authenticate("alice", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats(); got.HashVerifications != 6 || got.CacheHits != 1 || got.CacheEntries != 1 {
		t.Fatalf("cache back on: %+v", got)
	}
}

func TestSwapDropsCache(t *testing.T) {
	db := mustDB(t, User{Username: "alice", PasswordHash: testBcrypt})
	s := NewStore(db)
	if _, err := s.Authenticate("alice", testPassword); err != nil {
		t.Fatal(err)
	}
	s.Swap(db) // even the same DB: the cache goes
	if got := s.Stats().CacheEntries; got != 0 {
		t.Fatalf("CacheEntries after Swap = %d", got)
	}
	if s.Current() != db {
		t.Fatal("Current is not the swapped-in DB")
	}
	if _, err := s.Authenticate("alice", testPassword); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().HashVerifications; got != 2 {
		t.Fatalf("login after Swap did not verify again: %d verifications", got)
	}
}

func TestChangedPasswordTakesEffect(t *testing.T) {
	s := NewStore(mustDB(t, User{Username: "alice", PasswordHash: testBcrypt, Permissions: []Permission{PermRead}}))
	if _, err := s.Authenticate("alice", testPassword); err != nil {
		t.Fatal(err)
	}
	s.Swap(mustDB(t, User{Username: "alice", PasswordHash: mustBcrypt("new password", 4), Permissions: []Permission{PermRead, PermWrite}}))
	if _, err := s.Authenticate("alice", testPassword); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("old password after change: %v", err)
	}
	u, err := s.Authenticate("alice", "new password")
	if err != nil || !u.Can(PermWrite) {
		t.Errorf("new password: %v, %v", u, err)
	}
	s.Swap(mustDB(t, User{Username: "alice", PasswordHash: testBcrypt, Disabled: true}))
	if _, err := s.Authenticate("alice", testPassword); !errors.Is(err, ErrDisabled) {
		t.Errorf("after disabling: %v", err)
	}
	s.Swap(nil)
	if _, err := s.Authenticate("alice", testPassword); !errors.Is(err, ErrInvalidCredentials) || s.Current().Len() != 0 {
		t.Errorf("after removing every user: %v", err)
	}
}

// The hash is part of the cache key: even without Swap dropping the cache, a
// new hash for the same user and password cannot reuse an entry.
func TestCacheKeyBindsHash(t *testing.T) {
	s := NewStore(nil)
	k1 := s.cacheKey("alice", "pw", testBcrypt)
	for _, k := range []cacheKey{
		s.cacheKey("alice", "pw", testArgon2),
		s.cacheKey("alice", "pw2", testBcrypt),
		s.cacheKey("alicf", "pw", testBcrypt),
		NewStore(nil).cacheKey("alice", "pw", testBcrypt), // another process key
	} {
		if k == k1 {
			t.Error("distinct credentials share a cache key")
		}
	}
	if s.cacheKey("alice", "pw", testBcrypt) != k1 {
		t.Error("cache key is not deterministic")
	}
}

func TestCredCacheEvicts(t *testing.T) {
	c := newCredCache(3)
	key := func(i byte) cacheKey { return cacheKey{i} }
	for i := range byte(3) {
		c.add(key(i))
	}
	c.contains(key(0)) // 0 is now the most recent; 1 is the oldest
	c.add(key(3))
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	if c.contains(key(1)) {
		t.Error("least recently used entry was not evicted")
	}
	for _, i := range []byte{0, 2, 3} {
		if !c.contains(key(i)) {
			t.Errorf("entry %d evicted", i)
		}
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	dbA := mustDB(t, User{Username: "alice", PasswordHash: testBcrypt}, User{Username: "bob", PasswordHash: testBcrypt})
	dbB := mustDB(t, User{Username: "alice", PasswordHash: testBcrypt})
	s := NewStore(dbA)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				u, err := s.Authenticate("alice", testPassword)
				if err != nil || u.Username != "alice" {
					errs <- fmt.Errorf("goroutine %d: alice: %v", g, err)
				}
				if _, err := s.Authenticate("alice", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
					errs <- fmt.Errorf("goroutine %d: wrong password: %v", g, err)
				}
				// bob exists in only one of the two DBs.
				if _, err := s.Authenticate("bob", testPassword); err != nil && !errors.Is(err, ErrInvalidCredentials) {
					errs <- fmt.Errorf("goroutine %d: bob: %v", g, err)
				}
				if i%5 == 0 {
					_ = s.Stats()
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if i%2 == 0 {
				s.Swap(dbB)
			} else {
				s.Swap(dbA)
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func newTestCert(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	return ftptest.SelfSigned(t, ftptest.CertOptions{CommonName: cn}).Leaf
}

func TestAuthenticateCertificate(t *testing.T) {
	byCN := newTestCert(t, "backup-client")
	byFP := newTestCert(t, "anything")
	both := newTestCert(t, "both-client")
	other := newTestCert(t, "backup-client") // same CN as byCN, different key
	fp := CertificateFingerprint(byFP)
	if len(fp) != 95 || strings.ToUpper(fp) != fp {
		t.Fatalf("CertificateFingerprint = %q", fp)
	}
	s := NewStore(mustDB(t,
		User{Username: "cn-user", ClientCertificate: &ClientCertificate{CommonName: "backup-client"}},
		// Fingerprint written lower-case without colons.
		User{Username: "fp-user", ClientCertificate: &ClientCertificate{SHA256Fingerprint: strings.ToLower(strings.ReplaceAll(fp, ":", ""))}},
		User{Username: "both-user", ClientCertificate: &ClientCertificate{CommonName: "both-client", SHA256Fingerprint: CertificateFingerprint(both)}},
		User{Username: "both-wrong-cn", ClientCertificate: &ClientCertificate{CommonName: "other", SHA256Fingerprint: CertificateFingerprint(both)}},
		User{Username: "disabled", Disabled: true, ClientCertificate: &ClientCertificate{SHA256Fingerprint: fp}},
		User{Username: "password-only", PasswordHash: testBcrypt},
	))
	tests := []struct {
		user    string
		cert    *x509.Certificate
		wantErr error
	}{
		{"cn-user", byCN, nil},
		{"cn-user", other, nil}, // a CN mapping trusts the CA, not the key
		{"cn-user", byFP, ErrInvalidCredentials},
		{"fp-user", byFP, nil},
		{"fp-user", byCN, ErrInvalidCredentials},
		{"both-user", both, nil},
		{"both-user", byFP, ErrInvalidCredentials},
		{"both-wrong-cn", both, ErrInvalidCredentials},
		{"disabled", byFP, ErrDisabled},
		{"disabled", byCN, ErrInvalidCredentials},
		{"password-only", byCN, ErrInvalidCredentials},
		{"nobody", byCN, ErrInvalidCredentials},
		{"cn-user", nil, ErrInvalidCredentials},
	}
	for _, tt := range tests {
		cn := "<nil>"
		if tt.cert != nil {
			cn = tt.cert.Subject.CommonName
		}
		u, err := s.AuthenticateCertificate(tt.user, tt.cert)
		if !errors.Is(err, tt.wantErr) || (err == nil) != (u != nil) {
			t.Errorf("AuthenticateCertificate(%q, CN=%s) = %v, %v; want %v", tt.user, cn, u, err, tt.wantErr)
		}
		if u != nil && u.Username != tt.user {
			t.Errorf("AuthenticateCertificate(%q) returned %q", tt.user, u.Username)
		}
	}
	if got := s.Stats().HashVerifications; got != 0 {
		t.Errorf("certificate logins ran %d password verifications", got)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	h, err := HashPassword("bench password")
	if err != nil {
		b.Fatal(err)
	}
	db := mustDB(b, User{Username: "alice", PasswordHash: h})
	b.Run("uncached", func(b *testing.B) {
		s := NewStore(db)
		for b.Loop() {
			s.Swap(db)
			if _, err := s.Authenticate("alice", "bench password"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		s := NewStore(db)
		if _, err := s.Authenticate("alice", "bench password"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Authenticate("alice", "bench password"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		s := NewStore(db)
		if _, err := s.Authenticate("alice", "bench password"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Authenticate("alice", "bench password"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
