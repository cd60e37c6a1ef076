package soak

import (
	"crypto/tls"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// dial connects, runs AUTH TLS and logs in as user: a session ready for
// protected transfers.
func dial(addr, user string, conf *tls.Config, timeout time.Duration) (*ftptest.Conn, error) {
	c, err := ftptest.DialConn(addr, conf, timeout)
	if err != nil {
		return nil, err
	}
	if err = c.AuthTLS(); err == nil {
		err = c.Login(user, password)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
