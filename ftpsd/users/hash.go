package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is the cost HashPassword uses. 10 (bcrypt's own default, and the
// floor OWASP gives for bcrypt) costs tens of milliseconds of one core per
// verification. That is slow enough to make an offline guess expensive, and
// still cheap enough that a burst of logins does not starve a small ftpsd pod
// of CPU; clients that open many sessions with the same password hit the
// verified-credential cache instead of paying it again.
const bcryptCost = 10

// bcryptMaxCost refuses hashes whose verification would take seconds of CPU:
// each extra point doubles the work, so a cost of 31 in a users file would turn
// every login attempt into a denial of service.
const bcryptMaxCost = 16

// bcryptMaxPassword is bcrypt's input limit: bytes past 72 are silently
// ignored by the algorithm, so longer passwords are refused rather than
// truncated (two passwords sharing 72 leading bytes must not both log in).
const bcryptMaxPassword = 72

// maxPasswordLen bounds what any verification is asked to hash.
const maxPasswordLen = 1024

// The argon2id parameters HashPasswordArgon2id writes: the OWASP Password
// Storage Cheat Sheet's first argon2id setting (19 MiB, 2 passes, 1 lane).
const (
	argon2Memory  = 19 * 1024 // KiB
	argon2Time    = 2
	argon2Threads = 1
	argon2SaltLen = 16
	argon2KeyLen  = 32
)

// Bounds on argon2id hashes read from the users file. Verification allocates
// m KiB and runs t passes for every login attempt, so a hash with absurd
// parameters would let anyone who can type a username exhaust the pod's memory
// or CPU. These bounds admit every setting RFC 9106 and OWASP recommend for
// interactive logins except RFC 9106's 2 GiB one, which no ftpsd pod should
// spend per login.
const (
	argon2MaxMemory     = 256 * 1024 // KiB, 256 MiB
	argon2MaxTime       = 16
	argon2MaxThreads    = 16
	argon2MaxWork       = 1 << 20 // m*t, in KiB-passes (1 GiB of block work)
	argon2MinSaltLen    = 8
	argon2MaxSaltLen    = 64
	argon2MinKeyLen     = 16
	argon2MaxKeyLen     = 64
	argon2PHCPrefix     = "$argon2id$"
	argon2SupportedVers = argon2.Version // 0x13 = 19
)

var errPasswordTooLong = errors.New("password too long")

// HashPassword returns a bcrypt hash (cost 10, see bcryptCost) of password,
// the format the operator writes into the users file.
func HashPassword(password string) (string, error) {
	if len(password) > bcryptMaxPassword {
		return "", fmt.Errorf("users: bcrypt accepts at most %d bytes of password, got %d", bcryptMaxPassword, len(password))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("users: bcrypt: %w", err)
	}
	return string(h), nil
}

// HashPasswordArgon2id returns an argon2id hash of password as a PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, with a random 16-byte salt.
func HashPasswordArgon2id(password string) (string, error) {
	if len(password) > maxPasswordLen {
		return "", fmt.Errorf("users: password longer than %d bytes", maxPasswordLen)
	}
	salt := make([]byte, argon2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("users: reading a salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argon2Time, argon2Memory, argon2Threads, argon2KeyLen)
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argon2PHCPrefix, argon2SupportedVers,
		argon2Memory, argon2Time, argon2Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// ValidatePasswordHash reports whether hash is a password hash the users file
// accepts: bcrypt ($2a$, $2b$, $2y$) with a cost of at most 16, or an argon2id
// PHC string within the bounds above. The error never quotes the hash, which
// might be a password pasted by mistake.
func ValidatePasswordHash(hash string) error {
	_, err := parsePasswordHash(hash)
	return err
}

// VerifyPassword checks password against a bcrypt or argon2id hash, without
// a Store (no cache, no dummy work): for the operator, which must tell
// whether the hash it wrote earlier still matches a Secret's password. It
// returns nil on a match, ErrInvalidCredentials on a mismatch, and a
// validation error when hash is not one the users file accepts.
func VerifyPassword(hash, password string) error {
	h, err := parsePasswordHash(hash)
	if err != nil {
		return err
	}
	ok, err := h.verify(password)
	if err != nil || !ok {
		return ErrInvalidCredentials
	}
	return nil
}

type hashKind uint8

const (
	kindBcrypt hashKind = iota + 1
	kindArgon2id
)

// passwordHash is a hash parsed once, when the DB is built, so that a login
// only runs the expensive part.
type passwordHash struct {
	kind hashKind
	// bcrypt
	encoded []byte
	// argon2id
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// hashParams are what decides the cost of a verification.
type hashParams struct {
	kind    hashKind
	cost    int // bcrypt
	memory  uint32
	time    uint32
	threads uint8
	keyLen  int
}

// defaultHashParams are HashPassword's.
var defaultHashParams = hashParams{kind: kindBcrypt, cost: bcryptCost}

func (h *passwordHash) params() hashParams {
	if h.kind == kindArgon2id {
		return hashParams{kind: kindArgon2id, memory: h.memory, time: h.time, threads: h.threads, keyLen: len(h.key)}
	}
	cost, _ := bcrypt.Cost(h.encoded)
	return hashParams{kind: kindBcrypt, cost: cost}
}

func parsePasswordHash(s string) (*passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, argon2PHCPrefix):
		return parseArgon2id(s)
	}
	return nil, errors.New(unsupportedHashMessage(s))
}

// unsupportedHashMessage names what s looks like, without quoting it.
func unsupportedHashMessage(s string) string {
	const tail = "; only bcrypt ($2a$, $2b$, $2y$) and argon2id ($argon2id$v=19$...) hashes are accepted, and plain passwords are never accepted (store a hash made with HashPassword, htpasswd -B or an argon2 tool, or let the operator hash an FTPSUser's passwordSecretRef)"
	what := "is not a supported password hash"
	switch {
	case s == "":
		what = "is empty"
	case strings.HasPrefix(s, "$1$"):
		what = "looks like an MD5-crypt hash, which is too weak"
	case strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"):
		what = "looks like a SHA-crypt hash, which is not supported"
	case strings.HasPrefix(s, "$apr1$"):
		what = "looks like an Apache MD5 hash, which is too weak"
	case strings.HasPrefix(s, "$argon2i$"), strings.HasPrefix(s, "$argon2d$"):
		what = "is argon2i or argon2d; only the argon2id variant is accepted"
	case strings.HasPrefix(s, "$2"):
		what = "is a bcrypt variant other than $2a$, $2b$ or $2y$"
	case strings.HasPrefix(s, "{SHA}"), strings.HasPrefix(s, "{SSHA}"):
		what = "looks like an LDAP SHA hash, which is too weak"
	case !strings.HasPrefix(s, "$"):
		what = "is not a password hash (it may be a plain password)"
	}
	return what + tail
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks the whole modular-crypt layout, $2b$10$ + 22 characters
// of salt + 31 of hash: x/crypto/bcrypt only checks the prefix and cost, and
// would otherwise accept a truncated hash that no password can ever match.
func parseBcrypt(s string) (*passwordHash, error) {
	if len(s) != 60 {
		return nil, fmt.Errorf("bcrypt hash has %d characters, want 60", len(s))
	}
	if s[6] != '$' {
		return nil, errors.New("bcrypt hash lacks the '$' after its cost")
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || s[4] < '0' || s[4] > '9' {
		return nil, errors.New("bcrypt hash has no two-digit cost")
	}
	if cost < bcrypt.MinCost || cost > bcryptMaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is outside [%d, %d]; a higher cost would make each login cost seconds of CPU", cost, bcrypt.MinCost, bcryptMaxCost)
	}
	for i := 7; i < len(s); i++ {
		if !strings.ContainsRune(bcryptAlphabet, rune(s[i])) {
			return nil, fmt.Errorf("bcrypt hash has a character outside bcrypt's base64 alphabet at offset %d", i)
		}
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return nil, fmt.Errorf("bcrypt hash: %v", err)
	}
	return &passwordHash{kind: kindBcrypt, encoded: []byte(s)}, nil
}

// parseArgon2id reads $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>,
// salt and hash in unpadded standard base64 (padding is tolerated).
func parseArgon2id(s string) (*passwordHash, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 {
		return nil, errors.New("argon2id hash is not $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>")
	}
	if parts[2] != "v="+strconv.Itoa(argon2SupportedVers) {
		return nil, fmt.Errorf("argon2id hash: version must be v=%d", argon2SupportedVers)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errors.New("argon2id hash: parameters must be exactly m=<KiB>,t=<passes>,p=<lanes>")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return nil, fmt.Errorf("argon2id hash: parameter %d must be %s=<number>", i+1, name)
		}
		if v == "" || (len(v) > 1 && v[0] == '0') {
			return nil, fmt.Errorf("argon2id hash: parameter %s is not a plain decimal number", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("argon2id hash: parameter %s is not a number below 2^32", name)
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > argon2MaxThreads:
		return nil, fmt.Errorf("argon2id hash: p=%d is outside [1, %d]", p, argon2MaxThreads)
	case t < 1 || t > argon2MaxTime:
		return nil, fmt.Errorf("argon2id hash: t=%d is outside [1, %d]", t, argon2MaxTime)
	case m < 8*p || m > argon2MaxMemory:
		return nil, fmt.Errorf("argon2id hash: m=%d KiB is outside [8*p, %d] (at most 256 MiB per login)", m, argon2MaxMemory)
	case m*t > argon2MaxWork:
		return nil, fmt.Errorf("argon2id hash: m*t=%d exceeds %d; each login would cost too much CPU", m*t, argon2MaxWork)
	}
	salt, err := decodePHCBase64(parts[4])
	if err != nil {
		return nil, fmt.Errorf("argon2id hash: salt is not base64: %v", err)
	}
	if len(salt) < argon2MinSaltLen || len(salt) > argon2MaxSaltLen {
		return nil, fmt.Errorf("argon2id hash: salt is %d bytes, want %d to %d", len(salt), argon2MinSaltLen, argon2MaxSaltLen)
	}
	key, err := decodePHCBase64(parts[5])
	if err != nil {
		return nil, fmt.Errorf("argon2id hash: hash is not base64: %v", err)
	}
	if len(key) < argon2MinKeyLen || len(key) > argon2MaxKeyLen {
		return nil, fmt.Errorf("argon2id hash: hash is %d bytes, want %d to %d", len(key), argon2MinKeyLen, argon2MaxKeyLen)
	}
	return &passwordHash{kind: kindArgon2id, memory: uint32(m), time: uint32(t), threads: uint8(p), salt: salt, key: key}, nil
}

func decodePHCBase64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// verify reports whether password matches, in time that does not depend on
// how much of it matches.
func (h *passwordHash) verify(password string) (bool, error) {
	switch h.kind {
	case kindBcrypt:
		if len(password) > bcryptMaxPassword {
			return false, errPasswordTooLong
		}
		err := bcrypt.CompareHashAndPassword(h.encoded, []byte(password))
		if err == nil {
			return true, nil
		}
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return false, err
	case kindArgon2id:
		if len(password) > maxPasswordLen {
			return false, errPasswordTooLong
		}
		got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(got, h.key) == 1, nil
	}
	return false, errors.New("users: unknown hash kind")
}
