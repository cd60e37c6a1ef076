//go:build !unix

package server

import "io/fs"

func uniqueID(fs.FileInfo) string { return "" }
