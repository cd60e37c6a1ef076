//go:build unix

package server

import (
	"io/fs"
	"strconv"
	"syscall"
)

// appendUniqueFact appends the RFC 3659 unique fact (device and inode).
func appendUniqueFact(b []byte, fi fs.FileInfo) []byte {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return b
	}
	dev := uint64(st.Dev) //nolint:unconvert // Dev is not a uint64 on every platform
	b = append(b, "unique="...)
	b = strconv.AppendUint(b, dev, 16)
	b = append(b, 'U')
	b = strconv.AppendUint(b, st.Ino, 16)
	return append(b, ';')
}
