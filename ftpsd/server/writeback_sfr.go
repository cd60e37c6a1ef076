//go:build linux && (amd64 || arm64)

package server

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writing the dirty pages
// of the range that are not being written yet, and return without waiting.
const syncFileRangeWrite = 2

// startWriteback starts the writeback of every dirty page of f (offset 0,
// length 0: to the end of the file). Pages already under writeback are left
// alone, so each call costs about what it newly starts. Errors are ignored:
// the fsync that follows reports any that matter.
func startWriteback(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _, _ = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, 0, 0, syncFileRangeWrite, 0, 0)
	})
}
