//go:build unix

package server

import (
	"io/fs"
	"strconv"
	"syscall"
)

// uniqueID is the RFC 3659 unique fact: device and inode.
func uniqueID(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	dev := uint64(st.Dev) //nolint:unconvert // Dev is not a uint64 on every platform
	return strconv.FormatUint(dev, 16) + "U" + strconv.FormatUint(st.Ino, 16)
}
