package users

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Authentication errors. They say nothing about which part was wrong.
var (
	// ErrInvalidCredentials: unknown user, wrong password, or a certificate
	// that maps to no user.
	ErrInvalidCredentials = errors.New("users: invalid credentials")
	// ErrDisabled: the credentials are right but the user is disabled. It is
	// returned only after the password (or certificate) checked out, so it
	// tells nothing to someone who does not already hold them.
	ErrDisabled = errors.New("users: user is disabled")
)

// Store holds the current DB and authenticates against it. It is safe for
// concurrent use; Swap takes effect for every Authenticate that starts after
// it returns. Make one with NewStore; the zero value is not usable.
type Store struct {
	state   atomic.Pointer[storeState]
	hmacKey []byte
	// sem bounds concurrent hash verifications: bcrypt and argon2id are CPU
	// (and for argon2id, memory) bound, so running more of them at once than
	// there are cores only multiplies memory under a login storm.
	sem chan struct{}

	// noCache turns the verified-credential cache off (SetCredentialCache).
	noCache atomic.Bool

	verifications atomic.Uint64
	cacheHits     atomic.Uint64
	cacheMisses   atomic.Uint64
}

// storeState pairs a DB with the cache of credentials verified against it, so
// that Swap replaces both at once: a verification that started before a Swap
// can only ever fill the cache that Swap dropped.
type storeState struct {
	db    *DB
	cache *credCache
}

// NewStore returns a Store serving db (nil means no users).
func NewStore(db *DB) *Store {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ crashes
		// the program itself instead); keep the guard for clarity.
		panic("users: crypto/rand: " + err.Error())
	}
	s := &Store{
		hmacKey: key,
		sem:     make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
	s.Swap(db)
	return s
}

// Current returns the DB in force.
func (s *Store) Current() *DB {
	return s.state.Load().db
}

// Swap puts db in force at once and drops every cached credential. A nil db
// means no users.
func (s *Store) Swap(db *DB) {
	if db == nil {
		db = emptyDB()
	}
	s.state.Store(&storeState{db: db, cache: newCredCache(defaultCacheEntries)})
}

// SetCredentialCache turns the verified-credential cache on or off (it is on
// in a new Store). Off, every login pays a password-hash verification and
// nothing derived from passwords is kept: turning it off also drops what the
// cache holds.
func (s *Store) SetCredentialCache(enabled bool) {
	s.noCache.Store(!enabled)
	if enabled {
		return
	}
	// The flag first: an Authenticate that loads the new state sees it, and
	// one that loaded the old state can only fill the cache dropped here.
	for range 1000 {
		old := s.state.Load()
		if s.state.CompareAndSwap(old, &storeState{db: old.db, cache: newCredCache(defaultCacheEntries)}) {
			return
		}
	}
}

// Authenticate checks a username and password and returns a copy of the
// user. Unknown users, users without a password hash, empty passwords and
// wrong passwords all give ErrInvalidCredentials after about one hash
// verification, so that response time does not reveal which usernames exist.
// A disabled user gives ErrDisabled, but only when the password is right.
func (s *Store) Authenticate(username, password string) (*User, error) {
	st := s.state.Load()
	e, ok := st.db.lookup(username)
	if !ok || e.hash == nil || password == "" {
		s.verify(dummyHash(st.db.dummyParams), password)
		return nil, ErrInvalidCredentials
	}
	if e.user.Disabled {
		// Not cached: the cache only ever holds logins that succeeded.
		if s.verify(e.hash, password) {
			return nil, ErrDisabled
		}
		return nil, ErrInvalidCredentials
	}
	if s.noCache.Load() {
		if !s.verify(e.hash, password) {
			return nil, ErrInvalidCredentials
		}
		return e.user.clone(), nil
	}
	key := s.cacheKey(username, password, e.user.PasswordHash)
	if st.cache.contains(key) {
		s.cacheHits.Add(1)
		return e.user.clone(), nil
	}
	s.cacheMisses.Add(1)
	if !s.verify(e.hash, password) {
		return nil, ErrInvalidCredentials
	}
	if !s.noCache.Load() {
		st.cache.add(key)
	}
	return e.user.clone(), nil
}

// AuthenticateCertificate maps a client certificate, already verified by
// crypto/tls against the client CA, to the named user. The user's
// clientCertificate decides: a sha256Fingerprint must equal the SHA-256 of
// cert.Raw (the strong binding), a commonName must equal the subject's
// CommonName (meaningful only with a client CA that the operator controls);
// when both are set, both must match.
func (s *Store) AuthenticateCertificate(username string, cert *x509.Certificate) (*User, error) {
	if cert == nil {
		return nil, ErrInvalidCredentials
	}
	e, ok := s.state.Load().db.lookup(username)
	if !ok || e.user.ClientCertificate == nil {
		return nil, ErrInvalidCredentials
	}
	match := true
	if e.fingerprint != nil {
		sum := sha256.Sum256(cert.Raw)
		match = subtle.ConstantTimeCompare(sum[:], e.fingerprint) == 1
	}
	if cn := e.user.ClientCertificate.CommonName; cn != "" {
		match = match && subtle.ConstantTimeCompare([]byte(cert.Subject.CommonName), []byte(cn)) == 1
	}
	if !match {
		return nil, ErrInvalidCredentials
	}
	if e.user.Disabled {
		return nil, ErrDisabled
	}
	return e.user.clone(), nil
}

// Stats are counters for metrics and tests.
type Stats struct {
	// HashVerifications counts bcrypt/argon2id runs, including the dummy
	// ones spent on unknown users.
	HashVerifications uint64
	// CacheHits and CacheMisses count password logins of enabled users that
	// did or did not find their credentials in the cache (neither counts
	// while the cache is off).
	CacheHits   uint64
	CacheMisses uint64
	// CacheEntries is the current size of the verified-credential cache.
	CacheEntries int
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		HashVerifications: s.verifications.Load(),
		CacheHits:         s.cacheHits.Load(),
		CacheMisses:       s.cacheMisses.Load(),
		CacheEntries:      s.state.Load().cache.len(),
	}
}

// verify runs one hash verification, at most len(s.sem) at a time.
func (s *Store) verify(h *passwordHash, password string) bool {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	s.verifications.Add(1)
	ok, err := h.verify(password)
	return ok && err == nil
}

func (s *Store) cacheKey(username, password, hash string) cacheKey {
	m := hmac.New(sha256.New, s.hmacKey)
	// Usernames and validated hashes hold no NUL, so the encoding is
	// unambiguous even when the password does.
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(password))
	m.Write([]byte{0})
	m.Write([]byte(hash))
	var k cacheKey
	m.Sum(k[:0])
	return k
}

// dummyHashes holds, per set of hash parameters, a hash that no password
// matches. Failed logins for unknown users verify against the dummy with the
// parameters most users of the DB have, so that they cost what a real user's
// verification costs. Each dummy is made once, on first use.
var dummyHashes struct {
	mu sync.Mutex
	m  map[hashParams]*passwordHash
}

func dummyHash(p hashParams) *passwordHash {
	dummyHashes.mu.Lock()
	defer dummyHashes.mu.Unlock()
	if h, ok := dummyHashes.m[p]; ok {
		return h
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	var h *passwordHash
	switch p.kind {
	case kindArgon2id:
		// A random key: verification runs the full argon2id with these
		// parameters, and matching it would mean inverting argon2id.
		key := make([]byte, p.keyLen)
		_, _ = rand.Read(key)
		h = &passwordHash{kind: kindArgon2id, memory: p.memory, time: p.time, threads: p.threads, salt: secret[:16], key: key}
	default:
		enc, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(secret)[:64]), p.cost)
		if err != nil {
			panic("users: making a dummy hash: " + err.Error())
		}
		h = &passwordHash{kind: kindBcrypt, encoded: enc}
	}
	if dummyHashes.m == nil {
		dummyHashes.m = make(map[hashParams]*passwordHash)
	}
	dummyHashes.m[p] = h
	return h
}

// CertificateFingerprint returns the SHA-256 fingerprint of cert.Raw as
// upper-case hex pairs joined by colons, the form openssl prints and that a
// clientCertificate.sha256Fingerprint may be written in.
func CertificateFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
