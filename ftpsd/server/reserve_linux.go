//go:build linux

package server

import (
	"os"

	"golang.org/x/sys/unix"
)

// reserve reserves n bytes of disk space for f from offset off, without
// changing its size (fallocate with FALLOC_FL_KEEP_SIZE). Only on ext4,
// where it was measured to save work: tmpfs would zero the pages first, and
// copy-on-write file systems gain nothing. Only when the file system keeps
// at least reserveFreeFactor times n free, so that a reservation never
// makes another upload run out of space. It reports whether it reserved.
func reserve(f *os.File, off, n int64) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		var st unix.Statfs_t
		if unix.Fstatfs(int(fd), &st) != nil || st.Type != unix.EXT4_SUPER_MAGIC {
			return
		}
		if free := int64(st.Bavail) * int64(st.Bsize); free < reserveFreeFactor*n { //nolint:unconvert // int32 on 32-bit platforms
			return
		}
		ok = unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, off, n) == nil
	})
	return ok
}

const reserveFreeFactor = 16
