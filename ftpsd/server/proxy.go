package server

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pires/go-proxyproto"
)

// PROXY protocol (v1 and v2), config proxyProtocol.
//
// When enabled, a connection from an address in trustedCIDRs must begin with
// a PROXY header (REQUIRE), and the client address it carries is the one
// used for limits, bans, the data-connection address check and the logs. A
// connection from any other address that sends a PROXY header is refused
// (REJECT): nobody else may claim to speak for a client. Such a connection
// without a header is served as it is, after a short wait that tells the two
// apart (an FTP client waits for the server's greeting; a proxy speaks first).
// The same applies to the passive data ports, so that the data-address check
// compares the real client addresses.

const (
	// proxyHeaderTimeout bounds the wait for a trusted peer's header.
	proxyHeaderTimeout = 5 * time.Second
	// untrustedHeaderWait is how long an untrusted connection is watched for
	// a (refused) PROXY header before it is served as a plain connection.
	untrustedHeaderWait = 250 * time.Millisecond
)

// proxyPolicy is the go-proxyproto policy of a connection, from the
// configuration in force: REQUIRE from trusted networks, REJECT from others,
// SKIP (no PROXY protocol) when it is off.
func (srv *Server) proxyPolicy(opts proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
	pp := srv.Config().ProxyProtocol
	if !pp.Enabled {
		return proxyproto.SKIP, nil
	}
	ip := addrIP(opts.Upstream)
	for _, cidr := range pp.TrustedCIDRs {
		if p, err := netip.ParsePrefix(cidr); err == nil && p.Contains(ip) {
			return proxyproto.REQUIRE, nil
		}
	}
	return proxyproto.REJECT, nil
}

// wrapProxy applies proxyPolicy to an accepted connection. The header is read
// later, by proxyHandshake, in the connection's own goroutine.
func (srv *Server) wrapProxy(c net.Conn) net.Conn {
	pol, err := srv.proxyPolicy(proxyproto.ConnPolicyOptions{Upstream: c.RemoteAddr(), Downstream: c.LocalAddr()})
	if err != nil || pol == proxyproto.SKIP {
		return c
	}
	wait := proxyHeaderTimeout
	if pol == proxyproto.REJECT {
		wait = untrustedHeaderWait
	}
	return proxyproto.NewConn(c, proxyproto.WithPolicy(pol), proxyproto.SetReadHeaderTimeout(wait))
}

// clearTCP returns the TCP connection under a clear data connection: conn
// itself, or the socket under its PROXY protocol layer. That layer's header
// has been read by then (proxyHandshake), so writes, sendfile and socket
// options may bypass it; reads may not (it may hold bytes read past the
// header). nil for a TLS connection or any other kind.
func clearTCP(conn net.Conn) *net.TCPConn {
	switch c := conn.(type) {
	case *net.TCPConn:
		return c
	case *proxyproto.Conn:
		tcp, _ := c.TCPConn()
		return tcp
	}
	return nil
}

// proxyHandshake reads the PROXY header of a wrapped connection (nothing for
// another one) and reports a missing, malformed or refused header.
func proxyHandshake(c net.Conn) error {
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return nil
	}
	// A zero-length read processes the header and returns its error, and
	// consumes nothing else.
	if _, err := pc.Read(nil); err != nil {
		return fmt.Errorf("PROXY protocol from %s: %w", pc.Raw().RemoteAddr(), err)
	}
	return nil
}

// socketLocalIP is the local address of the socket itself (where a passive
// listener can bind), not the one a PROXY header names.
func socketLocalIP(c net.Conn) netip.Addr {
	if pc, ok := c.(*proxyproto.Conn); ok {
		return localIP(pc.Raw())
	}
	return localIP(c)
}

// proxyListener wraps accepted connections with wrapProxy.
type proxyListener struct {
	net.Listener
	srv *Server
}

func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.srv.wrapProxy(c), nil
}
