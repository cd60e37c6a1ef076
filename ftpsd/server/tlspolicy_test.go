package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// policy.tls.cipherSuites: TLS 1.2 handshakes use only the listed suites;
// TLS 1.3 is not affected (its suites are not configurable in Go).
func TestTLSCipherSuites(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.TLS.CipherSuites = []config.CipherSuite{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}
	}})
	c := e.dial(false)
	c.TLS = e.tlsConfig(tls.VersionTLS12)
	c.TLS.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	c.Must("AUTH TLS", 234)
	if err := tls.Client(c.Raw, c.TLS).Handshake(); err == nil {
		t.Fatal("a TLS 1.2 handshake with an unlisted suite succeeded")
	}

	c2 := e.dial(false)
	c2.TLS = e.tlsConfig(tls.VersionTLS12)
	c2.TLS.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	c2.AuthTLS()
	if got := c2.Ctl.(*tls.Conn).ConnectionState().CipherSuite; got != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("suite %s", tls.CipherSuiteName(got))
	}
	c2.login()

	c3 := e.dial(false)
	c3.AuthTLS() // TLS 1.3
	if v := c3.Ctl.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS13 {
		t.Fatalf("version %x", v)
	}
}

func TestTLSCipherSuitesValidation(t *testing.T) {
	for _, name := range []config.CipherSuite{"TLS_RSA_WITH_RC4_128_SHA", "TLS_AES_128_GCM_SHA256_TYPO", "ECDHE-RSA-AES128-GCM-SHA256"} {
		c := config.Default()
		c.Policy.TLS.CipherSuites = []config.CipherSuite{name}
		if err := c.Validate(); err == nil {
			t.Errorf("cipher suite %q accepted", name)
		}
	}
}

// clientCertEnv is a server whose client CA pool trusts two self-signed
// client certificates: carol's (mapped to the user carol) and mallory's.
type clientCertEnv struct {
	*testEnv
	carol, mallory tls.Certificate
}

func newClientCertEnv(t *testing.T, mode config.ClientCertificateMode, mutate func(*config.Config)) *clientCertEnv {
	t.Helper()
	carol, err := SelfSignedCertificate([]string{"carol"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := SelfSignedCertificate([]string{"mallory"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(carol.Leaf)
	pool.AddCert(mallory.Leaf)
	hash, err := testHash()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpt{
		mutate: func(c *config.Config) {
			c.Policy.Authentication.ClientCertificate = mode
			c.TLS.ClientCAFile = "in-memory"
			if mutate != nil {
				mutate(c)
			}
		},
		clientCA: pool,
		extra: []users.User{{Username: "carol", PasswordHash: string(hash), Permissions: users.AllPermissions,
			ClientCertificate: &users.ClientCertificate{SHA256Fingerprint: Fingerprint(carol.Certificate[0])}}},
	})
	return &clientCertEnv{testEnv: e, carol: carol, mallory: mallory}
}

// tryAuthTLS sends AUTH TLS with cert (none when nil) and reports the
// handshake's outcome. A TLS 1.3 server refuses a missing certificate after
// the client's Finished, so the first read tells.
func (c *client) tryAuthTLS(cert *tls.Certificate) error {
	c.T.Helper()
	if cert != nil {
		c.TLS.Certificates = []tls.Certificate{*cert}
	}
	c.Must("AUTH TLS", 234)
	tc := tls.Client(c.Raw, c.TLS)
	if err := tc.Handshake(); err != nil {
		return err
	}
	if _, err := tc.Write([]byte("NOOP\r\n")); err != nil {
		return err
	}
	r := bufio.NewReader(tc)
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	c.Ctl = tc
	c.R = r
	return nil
}

// policy.authentication.clientCertificate: None. The server asks for no
// certificate: carol's identity is not used, she logs in by password.
func TestClientCertificateNone(t *testing.T) {
	e := newClientCertEnv(t, config.ClientCertificateNone, nil)
	c := e.dial(false)
	requested := false
	c.TLS.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		requested = true
		return &e.carol, nil
	}
	if err := c.tryAuthTLS(nil); err != nil {
		t.Fatal(err)
	}
	if requested {
		t.Fatal("the server asked for a client certificate")
	}
	c.Must("USER carol", 331)
	c.Must("PASS "+testPassword, 230)
}

// Optional: a handshake with or without a certificate works; the
// certificate alone does not log in (that is Sufficient).
func TestClientCertificateOptional(t *testing.T) {
	e := newClientCertEnv(t, config.ClientCertificateOptional, nil)
	c := e.dial(false)
	if err := c.tryAuthTLS(nil); err != nil {
		t.Fatalf("no certificate: %v", err)
	}
	c.login()
	c2 := e.dial(false)
	if err := c2.tryAuthTLS(&e.carol); err != nil {
		t.Fatalf("with a certificate: %v", err)
	}
	c2.Must("USER carol", 331)
	c2.Must("PASS "+testPassword, 230)
	// A certificate the CA pool does not trust fails the handshake.
	stranger, err := SelfSignedCertificate([]string{"stranger"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dial(false).tryAuthTLS(&stranger); err == nil {
		t.Fatal("an untrusted client certificate was accepted")
	}
}

// Required: a handshake without a valid certificate is refused; with one,
// the login is by password as usual.
func TestClientCertificateRequired(t *testing.T) {
	e := newClientCertEnv(t, config.ClientCertificateRequired, nil)
	if err := e.dial(false).tryAuthTLS(nil); err == nil {
		t.Fatal("a handshake without a certificate was accepted")
	}
	c12 := e.dial(false)
	c12.TLS.MaxVersion = tls.VersionTLS12
	if err := c12.tryAuthTLS(nil); err == nil {
		t.Fatal("a TLS 1.2 handshake without a certificate was accepted")
	}
	c := e.dial(false)
	if err := c.tryAuthTLS(&e.carol); err != nil {
		t.Fatal(err)
	}
	c.Must("USER carol", 331)
	c.Must("PASS "+testPassword, 230)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	_, code, text := c.Transfer("STOR x", []byte("x"), true)
	mustCode(t, "STOR", code, text, 226)
}

// data.requireSameClientCertificate (RFC 4217 section 15): a data connection
// that presents another certificate than the control connection's is refused
// with 522 after the 150, and nothing is written.
func TestRequireSameClientCertificate(t *testing.T) {
	e := newClientCertEnv(t, config.ClientCertificateOptional, func(c *config.Config) {
		c.Policy.Data.SessionReuse = config.SessionReuseOptional // so that a full handshake can present another certificate
	})
	c := e.dial(false)
	if err := c.tryAuthTLS(&e.carol); err != nil {
		t.Fatal(err)
	}
	c.Must("USER carol", 331)
	c.Must("PASS "+testPassword, 230)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)

	for name, cert := range map[string]*tls.Certificate{"another certificate": &e.mallory, "no certificate": nil} {
		addr := c.EPSV()
		d := c.DialData(addr)
		c.Must("STOR refused", 150)
		conf := e.tlsConfig(0) // a fresh cache: a full handshake
		if cert != nil {
			conf.Certificates = []tls.Certificate{*cert}
		}
		if dc, err := c.Wrap(d, conf); err == nil {
			_, _ = dc.Write([]byte("must not land"))
			_ = dc.Close()
		}
		if code, text := c.Read(); code != 522 {
			t.Fatalf("%s: got %q, want 522", name, text)
		}
		if _, err := e.readFile("../carol/refused"); err == nil {
			t.Fatalf("%s: a refused upload was written", name)
		}
	}
	// The same certificate (full handshake, no resumption) is fine.
	conf := e.tlsConfig(0)
	conf.Certificates = []tls.Certificate{e.carol}
	addr := c.EPSV()
	d := c.DialData(addr)
	c.Must("STOR same", 150)
	dc, err := c.Wrap(d, conf)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = dc.Write([]byte("ok"))
	_ = dc.(*tls.Conn).CloseWrite()
	_ = closeWrite(d)
	_ = dc.Close()
	c.Reply(226)

	// With the check off, another certificate is accepted.
	e2 := newClientCertEnv(t, config.ClientCertificateOptional, func(c *config.Config) {
		c.Policy.Data.SessionReuse = config.SessionReuseOptional
		off := false
		c.Policy.Data.RequireSameClientCertificate = &off
	})
	c2 := e2.dial(false)
	if err := c2.tryAuthTLS(&e2.carol); err != nil {
		t.Fatal(err)
	}
	c2.Must("USER carol", 331)
	c2.Must("PASS "+testPassword, 230)
	c2.Must("PBSZ 0", 200)
	c2.Must("PROT P", 200)
	conf2 := e2.tlsConfig(0)
	conf2.Certificates = []tls.Certificate{e2.mallory}
	d2 := c2.DialData(c2.EPSV())
	c2.Must("STOR other", 150)
	dc2, err := c2.Wrap(d2, conf2)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = dc2.Write([]byte("ok"))
	_ = dc2.(*tls.Conn).CloseWrite()
	_ = closeWrite(d2)
	_ = dc2.Close()
	c2.Reply(226)
}
