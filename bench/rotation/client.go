package main

import (
	"crypto/tls"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// smallSize is the size of the file every load transfer downloads.
const smallSize = 4096

// ioTimeout bounds the dial and every read and write of the bench's clients.
const ioTimeout = 20 * time.Second

// dialTLS connects and runs AUTH TLS with conf, whose session cache the
// data connections then resume.
func dialTLS(addr string, conf *tls.Config) (*ftptest.Conn, error) {
	c, err := ftptest.DialConn(addr, conf, ioTimeout)
	if err != nil {
		return nil, err
	}
	if err := c.AuthTLS(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
