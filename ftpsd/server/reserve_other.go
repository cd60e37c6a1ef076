//go:build !linux

package server

import "os"

// reserve: disk space is reserved ahead of uploads on Linux only.
func reserve(*os.File, int64, int64) bool { return false }
