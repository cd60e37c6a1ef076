package controllers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// passwordHasher turns plain passwords into the bcrypt hashes of the users
// Secret, and reuses the hash already there when the password did not
// change, so that an unchanged password does not rewrite the Secret (and
// does not cost a bcrypt hash) on every reconcile.
//
// How it knows a password did not change: the users Secret holds nothing but
// bcrypt hashes. We deliberately keep no digest of the plain password there
// (not even an HMAC with a key stored alongside it): whoever can read that
// Secret could then test guesses at HMAC speed instead of bcrypt speed.
// Instead the first time the operator process meets a (hash, password) pair
// it verifies the password against the existing bcrypt hash (one bcrypt
// verification per user after an operator restart), and remembers the
// result in memory under an HMAC keyed with a random per-process key, so
// later reconciles compare two HMACs and never run bcrypt again. The plain
// password and its HMAC never leave the operator's memory.
type passwordHasher struct {
	mu  sync.Mutex
	key []byte
	// verified maps a bcrypt hash to the HMAC of the password it is known to
	// match.
	verified map[string][]byte
}

func newPasswordHasher() *passwordHasher {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return &passwordHasher{key: key, verified: map[string][]byte{}}
}

func (h *passwordHasher) mac(password string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(password))
	return m.Sum(nil)
}

// hash returns existing when it is a hash of password, or a new hash.
// reused says which.
func (h *passwordHasher) hash(password, existing string) (hash string, reused bool, err error) {
	mac := h.mac(password)
	if existing != "" {
		h.mu.Lock()
		known, ok := h.verified[existing]
		h.mu.Unlock()
		if ok && hmac.Equal(known, mac) {
			return existing, true, nil
		}
		if !ok && bcrypt.CompareHashAndPassword([]byte(existing), []byte(password)) == nil {
			h.remember(existing, mac)
			return existing, true, nil
		}
	}
	hash, err = users.HashPassword(password)
	if err != nil {
		return "", false, err
	}
	h.remember(hash, mac)
	return hash, false, nil
}

func (h *passwordHasher) remember(hash string, mac []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// Bound the memory: the map only needs the live hashes, which the next
	// reconciles re-add after a reset.
	if len(h.verified) > 100000 {
		clear(h.verified)
	}
	h.verified[hash] = mac
}
