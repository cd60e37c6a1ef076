// Package clienttest drives ftpsd with real FTPS clients - curl, lftp and
// Python's ftplib - from `go test`. A missing client binary fails the tests
// with the name of the Debian package to install; they never skip.
package clienttest
