package soak

import (
	"crypto/sha256"
	"encoding"
	"fmt"
	"hash"
	mrand "math/rand/v2"
	"slices"
)

// fileRec is what a session knows of one of its files: the size and SHA-256
// of the bytes that a 226 (or 250) confirmed.
type fileRec struct {
	size  int64
	sum   [32]byte
	state []byte // the SHA-256 state after the last byte, so that APPE can go on hashing
}

func (r *fileRec) String() string {
	if r == nil {
		return "absent"
	}
	return fmt.Sprintf("%d bytes, sha256 %x", r.size, r.sum[:6])
}

// hashed finishes h into a record.
func hashed(h hash.Hash, size int64) (*fileRec, error) {
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, err
	}
	r := &fileRec{size: size, state: state}
	h.Sum(r.sum[:0])
	return r, nil
}

// resume returns a SHA-256 that goes on from r's bytes (empty when r is nil).
func resume(r *fileRec) (hash.Hash, error) {
	h := sha256.New()
	if r == nil {
		return h, nil
	}
	return h, h.(encoding.BinaryUnmarshaler).UnmarshalBinary(r.state)
}

// folder is the expected content of one session's folder. A name is in
// files when its content is known for sure; in unsure when an operation on
// it failed in a way that leaves either outcome possible (each entry a
// possible content, nil for absent). Each session works alone in its folder,
// so nothing else changes it.
type folder struct {
	files  map[string]*fileRec
	unsure map[string][]*fileRec
	gone   []string // names known to be absent (deleted, renamed away)
	next   int      // counter of fresh names: a name is never reused
}

func newFolder() *folder {
	return &folder{files: map[string]*fileRec{}, unsure: map[string][]*fileRec{}}
}

func (f *folder) fresh(prefix string) string {
	f.next++
	return fmt.Sprintf("%s%05d", prefix, f.next)
}

// names returns the names known for sure, sorted (so that a seeded run
// picks the same ones).
func (f *folder) names() []string {
	out := make([]string, 0, len(f.files))
	for n := range f.files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (f *folder) pick(rnd *mrand.Rand) string {
	ns := f.names()
	return ns[rnd.IntN(len(ns))]
}

// set records a confirmed content (nil: confirmed absent).
func (f *folder) set(name string, r *fileRec) {
	delete(f.unsure, name)
	if r == nil {
		if _, ok := f.files[name]; ok {
			f.gone = append(f.gone, name)
			if len(f.gone) > 64 {
				f.gone = f.gone[1:]
			}
		}
		delete(f.files, name)
		return
	}
	f.files[name] = r
}

// doubt records that name holds one of outcomes (nil: absent), after an
// operation whose result the client could not learn.
func (f *folder) doubt(name string, outcomes ...*fileRec) {
	all, wasUnsure := f.unsure[name]
	if !wasUnsure {
		all = []*fileRec{f.files[name]} // nil when unknown: absent
	}
	delete(f.files, name)
	f.unsure[name] = append(all, outcomes...)
}

// allows reports whether r (nil: absent) is an allowed state of name.
func (f *folder) allows(name string, size int64, sum *[32]byte) bool {
	if r, ok := f.files[name]; ok {
		return r.size == size && (sum == nil || r.sum == *sum)
	}
	for _, r := range f.unsure[name] {
		if r != nil && r.size == size && (sum == nil || r.sum == *sum) {
			return true
		}
	}
	return false
}

// mayBeAbsent reports whether name may be missing.
func (f *folder) mayBeAbsent(name string) bool {
	if _, ok := f.files[name]; ok {
		return false
	}
	if outcomes, ok := f.unsure[name]; ok {
		return slices.Contains(outcomes, nil)
	}
	return true // an unknown name must be absent
}
