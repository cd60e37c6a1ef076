package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

func TestAuthTLSThenLogin(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.authTLS()
	c.login()
	if text := c.must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("PWD: %q", text)
	}
	c.must("QUIT", 221)
}

func TestAuthMechanisms(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.must("AUTH SSL", 504)
	c.must("AUTH KERBEROS_V4", 504)
	c.must("AUTH", 501)
	c.must("auth tls-c", 234) // synonym, case-insensitive
	c.startTLS()
	c.must("AUTH TLS", 503) // already protected
	c.login()
}

// Bytes sent after AUTH TLS but before the handshake must be discarded, never
// executed (the STARTTLS command-injection class of bug).
func TestAuthDiscardsPipelinedCommands(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.send("AUTH TLS\r\nUSER " + testUser)
	c.expect(234)
	c.startTLS()
	// Had "USER alice" run, PASS would now log in.
	c.must("PASS "+testPassword, 503)
	c.login()
}

func TestAuthResetsSession(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.Control.RequireTLS = config.RequireTLSOptional
		c.Policy.Data.Protection = config.ProtectionClientChoice
	}})
	e.writeFile("sub/x", []byte("x"))
	c := e.dial(false)
	c.login()
	c.must("CWD sub", 250)
	c.must("TYPE I", 200)
	c.authTLS()
	c.must("PWD", 530) // logged out
	c.login()
	if text := c.must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("working directory survived AUTH: %q", text)
	}
	if text := c.must("STAT", 211); !strings.Contains(text, "TYPE A") {
		t.Fatalf("TYPE survived AUTH: %q", text)
	}
}

func TestRequireTLSLogin(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.must("USER "+testUser, 530)
	c.must("PASS x", 530)
	c.must("FEAT", 211)
	c.must("SYST", 215)
}

func TestRequireTLSAllCommands(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSAllCommands }})
	c := e.dial(false)
	c.must("STAT", 530)
	c.must("PWD", 530)
	c.must("OPTS UTF8 ON", 530)
	c.must("NOOP", 200)
	c.must("HELP", 214)
	c.must("FEAT", 211)
	c.authTLS()
	c.must("STAT", 211)
}

func TestRequireTLSOptionalAndClearLoginUsers(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.ClearLoginUsers = []string{testUser} }})
	c := e.dial(false)
	c.must("USER bob", 530)
	c.login() // alice may log in in clear
	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c2 := e2.dial(false)
	c2.login()
}

func TestPBSZAndPROT(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c := e.dial(false)
	c.must("PBSZ 0", 503)
	c.must("PROT P", 503)
	c.authTLS()
	c.must("PROT P", 503) // before PBSZ
	if text := c.must("PBSZ 1048576", 200); !strings.Contains(text, "PBSZ=0") {
		t.Fatalf("PBSZ: %q", text)
	}
	c.must("PROT C", 534) // default policy: Private
	c.must("PROT S", 536)
	c.must("PROT E", 536)
	c.must("PROT X", 504)
	c.must("PROT p", 200)

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.Protection = config.ProtectionClear }})
	c2 := e2.dial(false)
	c2.authTLS()
	c2.must("PBSZ 0", 200)
	c2.must("PROT P", 534)
	c2.must("PROT C", 200)
}

func TestCCC(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c := e.dial(false)
	c.must("CCC", 533) // not protected
	c.authTLS()
	c.login()
	c.must("CCC", 534) // default policy: Deny

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.CCC = config.CCCAllowAfterLogin }})
	c2 := e2.dial(false)
	c2.authTLS()
	c2.must("CCC", 534) // not logged in yet
	c2.login()
	c2.must("PBSZ 0", 200)
	c2.must("PROT P", 200)
	c2.must("CCC", 200)
	// The server sends close_notify; we answer with ours and go on in clear.
	tc := c2.conn.(*tls.Conn)
	if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("want close_notify (EOF), got %v", err)
	}
	if err := tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c2.raw.SetDeadline(time.Now().Add(20 * time.Second)) // CloseWrite set it to now
	c2.conn = c2.raw
	c2.r = bufio.NewReader(c2.raw)
	c2.must("PWD", 257)
	c2.must("PBSZ 0", 503)
	c2.must("PROT P", 503)
	// Data transfers keep PROT P.
	e2.writeFile("f", []byte("after ccc"))
	got, code, text := c2.transfer("RETR f", nil, true)
	mustCode(t, "RETR after CCC", code, text, 226)
	if string(got) != "after ccc" {
		t.Fatalf("got %q", got)
	}
}

func TestREINClearsTLS(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.authTLS()
	c.login()
	c.must("REIN", 220)
	tc := c.conn.(*tls.Conn)
	if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("want close_notify, got %v", err)
	}
	_ = tc.CloseWrite()
	_ = c.raw.SetDeadline(time.Now().Add(20 * time.Second))
	c.conn = c.raw
	c.r = bufio.NewReader(c.raw)
	_ = c.raw.SetDeadline(time.Now().Add(3 * time.Second))
	c.must("USER "+testUser, 530) // TLS required again
	c.authTLS()
	c.login()
}

func TestFEAT(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	text := c.must("FEAT", 211)
	for _, f := range []string{" AUTH TLS", " PBSZ", " PROT", " SIZE", " MDTM", " REST STREAM", " MLST type*;size*;modify*;perm*;unique*;", " UTF8", " EPSV", " TVFS"} {
		if !strings.Contains(text, f+"\n") && !strings.HasSuffix(text, f) {
			t.Errorf("FEAT lacks %q: %q", f, text)
		}
	}
	if strings.Contains(text, " CCC") || strings.Contains(text, " EPRT") {
		t.Errorf("FEAT lists CCC or EPRT though the policy forbids them: %q", text)
	}
	c.authTLS()
	c.must("FEAT", 211)

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.Control.CCC = config.CCCAllowAfterLogin
		c.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly
	}})
	text = e2.dial(false).must("FEAT", 211)
	if !strings.Contains(text, " CCC") || !strings.Contains(text, " EPRT") {
		t.Errorf("FEAT lacks CCC/EPRT: %q", text)
	}
}

func TestReplyCodes(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.must("XYZZY", 500)
	c.must("PWD", 530)
	c.authTLS()
	c.must("PASS x", 503)
	c.login()
	c.must("SITE CHMOD 755 x", 502)
	c.must("CWD", 501)
	c.must("RNTO x", 503)
	c.must("MODE B", 504)
	c.must("MODE Q", 501)
	c.must("STRU R", 504)
	c.must("STRU Q", 501)
	c.must("TYPE E", 504)
	c.must("TYPE Q", 501)
	c.must("TYPE L 8", 200)
	c.must("TYPE A N", 200)
	c.must("ACCT x", 202)
	c.must("ALLO 10", 202)
	c.must("REST x", 501)
	c.must("OPTS UTF8 ON", 200)
	c.must("ADAT x", 502)
	c.must("HELP", 214)
	c.must("NOOP", 200)
}

func TestLoginFailuresClose(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.MaxLoginFailures = 2 }})
	c := e.dial(false)
	c.authTLS()
	c.must("USER "+testUser, 331)
	c.must("PASS wrong", 530)
	c.must("USER "+testUser, 331)
	c.must("PASS wrong", 421)
	if _, err := c.r.ReadByte(); err == nil {
		t.Fatal("connection still open")
	}
}

func TestLongLines(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	long := strings.Repeat("A", 5000)
	c.must(long, 500)
	c.must("NOOP", 200) // the rest of the long line was discarded
	c.must(long, 500)
	c.must(long, 421)
}

func TestLoginTimeout(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.LoginTimeout.Duration = 300 * time.Millisecond }})
	c := e.dial(false)
	if text := c.expect(421); !strings.Contains(text, "login") {
		t.Fatalf("%q", text)
	}
}

func TestIdleTimeout(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, envOpt{metrics: m, mutate: func(c *config.Config) { c.Limits.IdleTimeout.Duration = 400 * time.Millisecond }})
	c := e.dial(false)
	c.authTLS()
	c.login()
	if text := c.expect(421); !strings.Contains(text, "idle") {
		t.Fatalf("%q", text)
	}
	waitMetric(t, m, `ftpsd_sessions_closed_total{reason="idle_timeout"} 1`)
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t, envOpt{implicit: true})
	c := e.dial(true)
	c.must("AUTH TLS", 503)
	c.login()
	c.must("PBSZ 0", 200)
	c.must("PROT P", 200)
	e.writeFile("f", []byte("implicit"))
	got, code, text := c.transfer("RETR f", nil, true)
	mustCode(t, "RETR", code, text, 226)
	if string(got) != "implicit" {
		t.Fatalf("got %q", got)
	}
}

func TestTLSMinVersion13(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.TLS.MinVersion = "1.3" }})
	c := e.dial(false)
	c.must("AUTH TLS", 234)
	c.tlsConf.MaxVersion = tls.VersionTLS12
	tc := tls.Client(c.raw, c.tlsConf)
	if err := tc.Handshake(); err == nil {
		t.Fatal("a TLS 1.2 client was accepted under minVersion 1.3")
	}
}

type panicAuth struct{ Authenticator }

func (panicAuth) Authenticate(string, string) (*users.User, error) { panic("boom") }

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, envOpt{auth: func(a Authenticator) Authenticator { return panicAuth{a} }})
	c := e.dial(false)
	c.authTLS()
	c.must("USER "+testUser, 331)
	c.must("PASS x", 421)
	// The server survives.
	c2 := e.dial(false)
	c2.must("NOOP", 200)
}

func TestIPv6EPSV(t *testing.T) {
	e := newEnv(t, envOpt{network: "tcp6"})
	c := e.dial(false)
	c.secure()
	c.must("EPSV 1", 522)
	c.must("PASV", 425)
	e.writeFile("six", []byte("v6"))
	got, code, text := c.transfer("RETR six", nil, true)
	mustCode(t, "RETR over IPv6", code, text, 226)
	if string(got) != "v6" {
		t.Fatalf("got %q", got)
	}
}

// policy.authentication.clientCertificate: Sufficient logs a user in with
// 232 on USER when the verified client certificate maps to them.
func TestClientCertificateSufficient(t *testing.T) {
	clientCert, err := SelfSignedCertificate([]string{"carol"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(clientCert.Leaf)
	e := newEnv(t, envOpt{
		mutate: func(c *config.Config) {
			c.Policy.Authentication.ClientCertificate = config.ClientCertificateSufficient
			c.TLS.ClientCAFile = "in-memory" // Validate wants it; the pool is passed in Options
		},
		clientCA: pool,
		extra: []users.User{{Username: "carol", Permissions: users.AllPermissions,
			ClientCertificate: &users.ClientCertificate{SHA256Fingerprint: Fingerprint(clientCert.Certificate[0])}}},
	})
	c := e.dial(false)
	c.tlsConf.Certificates = []tls.Certificate{clientCert}
	c.authTLS()
	c.must("USER carol", 232)
	c.must("PBSZ 0", 200)
	c.must("PROT P", 200)
	_, code, text := c.transfer("STOR by-cert", []byte("cert"), true)
	mustCode(t, "STOR", code, text, 226)
	c.must("USER "+testUser, 331) // no certificate mapping: password as usual
	c.must("PASS "+testPassword, 230)

	// Without a certificate, carol needs a password (and has none).
	c2 := e.dial(false)
	c2.authTLS()
	c2.must("USER carol", 331)
	c2.must("PASS x", 530)
}
