package server

import (
	"io"
	"os"
)

const (
	// writebackChunk is how much upload data accumulates before its
	// writeback to disk is started (with syncUploads).
	writebackChunk = 8 << 20
	// An upload reserves disk space ahead of its data once it has written
	// reserveAfter bytes, each time as much as it has written so far but
	// at most reserveMax: small files reserve nothing, and a reservation
	// never exceeds the data already received.
	reserveAfter = 8 << 20
	reserveMax   = 64 << 20
)

// uploadFile is the file an upload writes, in order from its start offset.
//
// With sync it starts the kernel's writeback every writebackChunk bytes
// without waiting for it: the disk then writes while the network still
// delivers, instead of all at once in the final fsync.
//
// Where the file system allows it (see reserve), it reserves space ahead of
// the data: ext4 then maps each written page into a reserved extent instead
// of accounting a delayed allocation per page, which took a fifth of
// ftpsd's CPU per upload byte away (docs/benchmarks.md). finish gives back
// what the data did not use.
type uploadFile struct {
	f       *os.File
	sync    bool
	pending int64 // bytes written since the last writeback start
	written int64 // bytes this upload wrote
	pos     int64 // the file offset the next write goes to
	// reservedTo is the file offset up to which space is reserved; 0 while
	// nothing is. noReserve: reserving stopped (not supported, little free
	// space, an error), or the start offset is unknown.
	reservedTo int64
	noReserve  bool
}

func newUploadFile(f *os.File, sync bool) *uploadFile {
	pos, err := f.Seek(0, io.SeekCurrent)
	return &uploadFile{f: f, sync: sync, pos: pos, noReserve: err != nil}
}

func (u *uploadFile) write(p []byte) error {
	u.reserveAhead(int64(len(p)))
	n, err := u.f.Write(p)
	u.written += int64(n)
	u.pos += int64(n)
	if u.sync {
		u.pending += int64(n)
		if u.pending >= writebackChunk {
			startWriteback(u.f)
			u.pending = 0
		}
	}
	return err
}

// reserveAhead reserves the next step when the coming write of n bytes
// would reach past the reservation. A refusal stops reserving; the writes
// themselves then report any real shortage of space.
func (u *uploadFile) reserveAhead(n int64) {
	if u.noReserve || u.written < reserveAfter || u.pos+n <= u.reservedTo {
		return
	}
	from := max(u.pos, u.reservedTo)
	step := min(u.written, reserveMax)
	if !reserve(u.f, from, step) {
		u.noReserve = true
		return
	}
	u.reservedTo = from + step
}

// finish gives back the space reserved beyond the end of the data:
// truncating to the file's own size changes no byte of it.
func (u *uploadFile) finish() error {
	if u.reservedTo == 0 {
		return nil
	}
	fi, err := u.f.Stat()
	if err != nil {
		return err
	}
	return u.f.Truncate(fi.Size())
}
