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
	c.AuthTLS()
	c.login()
	if text := c.Must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("PWD: %q", text)
	}
	c.Must("QUIT", 221)
}

func TestAuthMechanisms(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.Must("AUTH SSL", 504)
	c.Must("AUTH KERBEROS_V4", 504)
	c.Must("AUTH", 501)
	c.Must("auth tls-c", 234) // synonym, case-insensitive
	c.StartTLS()
	c.Must("AUTH TLS", 503) // already protected
	c.login()
}

// Bytes sent after AUTH TLS but before the handshake must be discarded, never
// executed (the STARTTLS command-injection class of bug).
func TestAuthDiscardsPipelinedCommands(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.Send("AUTH TLS\r\nUSER " + testUser)
	c.Reply(234)
	c.StartTLS()
	// Had "USER alice" run, PASS would now log in.
	c.Must("PASS "+testPassword, 503)
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
	c.Must("CWD sub", 250)
	c.Must("TYPE I", 200)
	c.AuthTLS()
	c.Must("PWD", 530) // logged out
	c.login()
	if text := c.Must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("working directory survived AUTH: %q", text)
	}
	if text := c.Must("STAT", 211); !strings.Contains(text, "TYPE A") {
		t.Fatalf("TYPE survived AUTH: %q", text)
	}
}

func TestRequireTLSLogin(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.Must("USER "+testUser, 530)
	c.Must("PASS x", 530)
	c.Must("FEAT", 211)
	c.Must("SYST", 215)
}

func TestRequireTLSAllCommands(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSAllCommands }})
	c := e.dial(false)
	c.Must("STAT", 530)
	c.Must("PWD", 530)
	c.Must("OPTS UTF8 ON", 530)
	c.Must("NOOP", 200)
	c.Must("HELP", 214)
	c.Must("FEAT", 211)
	c.AuthTLS()
	c.Must("STAT", 211)
}

func TestRequireTLSOptionalAndClearLoginUsers(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.ClearLoginUsers = []string{testUser} }})
	c := e.dial(false)
	c.Must("USER bob", 530)
	c.login() // alice may log in in clear
	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c2 := e2.dial(false)
	c2.login()
}

func TestPBSZAndPROT(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c := e.dial(false)
	c.Must("PBSZ 0", 503)
	c.Must("PROT P", 503)
	c.AuthTLS()
	c.Must("PROT P", 503) // before PBSZ
	if text := c.Must("PBSZ 1048576", 200); !strings.Contains(text, "PBSZ=0") {
		t.Fatalf("PBSZ: %q", text)
	}
	c.Must("PROT C", 534) // default policy: Private
	c.Must("PROT S", 536)
	c.Must("PROT E", 536)
	c.Must("PROT X", 504)
	c.Must("PROT p", 200)

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.Protection = config.ProtectionClear }})
	c2 := e2.dial(false)
	c2.AuthTLS()
	c2.Must("PBSZ 0", 200)
	c2.Must("PROT P", 534)
	c2.Must("PROT C", 200)
}

func TestCCC(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.RequireTLS = config.RequireTLSOptional }})
	c := e.dial(false)
	c.Must("CCC", 533) // not protected
	c.AuthTLS()
	c.login()
	c.Must("CCC", 534) // default policy: Deny

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Control.CCC = config.CCCAllowAfterLogin }})
	c2 := e2.dial(false)
	c2.AuthTLS()
	c2.Must("CCC", 534) // not logged in yet
	c2.login()
	c2.Must("PBSZ 0", 200)
	c2.Must("PROT P", 200)
	c2.Must("CCC", 200)
	// The server sends close_notify; we answer with ours and go on in clear.
	tc := c2.Ctl.(*tls.Conn)
	if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("want close_notify (EOF), got %v", err)
	}
	if err := tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c2.Raw.SetDeadline(time.Now().Add(20 * time.Second)) // CloseWrite set it to now
	c2.Ctl = c2.Raw
	c2.R = bufio.NewReader(c2.Raw)
	c2.Must("PWD", 257)
	c2.Must("PBSZ 0", 503)
	c2.Must("PROT P", 503)
	// Data transfers keep PROT P.
	e2.writeFile("f", []byte("after ccc"))
	got, code, text := c2.Transfer("RETR f", nil, true)
	mustCode(t, "RETR after CCC", code, text, 226)
	if string(got) != "after ccc" {
		t.Fatalf("got %q", got)
	}
}

func TestREINClearsTLS(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.AuthTLS()
	c.login()
	c.Must("REIN", 220)
	tc := c.Ctl.(*tls.Conn)
	if _, err := tc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("want close_notify, got %v", err)
	}
	_ = tc.CloseWrite()
	_ = c.Raw.SetDeadline(time.Now().Add(20 * time.Second))
	c.Ctl = c.Raw
	c.R = bufio.NewReader(c.Raw)
	_ = c.Raw.SetDeadline(time.Now().Add(3 * time.Second))
	c.Must("USER "+testUser, 530) // TLS required again
	c.AuthTLS()
	c.login()
}

func TestFEAT(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	text := c.Must("FEAT", 211)
	for _, f := range []string{" AUTH TLS", " PBSZ", " PROT", " SIZE", " MDTM", " REST STREAM", " MLST type*;size*;modify*;perm*;unique*;", " UTF8", " EPSV", " TVFS"} {
		if !strings.Contains(text, f+"\n") && !strings.HasSuffix(text, f) {
			t.Errorf("FEAT lacks %q: %q", f, text)
		}
	}
	if strings.Contains(text, " CCC") || strings.Contains(text, " EPRT") {
		t.Errorf("FEAT lists CCC or EPRT though the policy forbids them: %q", text)
	}
	c.AuthTLS()
	c.Must("FEAT", 211)

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.Control.CCC = config.CCCAllowAfterLogin
		c.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly
	}})
	text = e2.dial(false).Must("FEAT", 211)
	if !strings.Contains(text, " CCC") || !strings.Contains(text, " EPRT") {
		t.Errorf("FEAT lacks CCC/EPRT: %q", text)
	}
}

func TestReplyCodes(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.Must("XYZZY", 500)
	c.Must("PWD", 530)
	c.AuthTLS()
	c.Must("PASS x", 503)
	c.login()
	c.Must("SITE CHMOD 755 x", 502)
	c.Must("CWD", 501)
	c.Must("RNTO x", 503)
	c.Must("MODE B", 504)
	c.Must("MODE Q", 501)
	c.Must("STRU R", 504)
	c.Must("STRU Q", 501)
	c.Must("TYPE E", 504)
	c.Must("TYPE Q", 501)
	c.Must("TYPE L 8", 200)
	c.Must("TYPE A N", 200)
	c.Must("ACCT x", 202)
	c.Must("ALLO 10", 202)
	c.Must("REST x", 501)
	c.Must("OPTS UTF8 ON", 200)
	c.Must("ADAT x", 502)
	c.Must("HELP", 214)
	c.Must("NOOP", 200)
}

func TestLoginFailuresClose(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.MaxLoginFailures = 2 }})
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong", 530)
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong", 421)
	if _, err := c.R.ReadByte(); err == nil {
		t.Fatal("connection still open")
	}
}

func TestLongLines(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	long := strings.Repeat("A", 5000)
	c.Must(long, 500)
	c.Must("NOOP", 200) // the rest of the long line was discarded
	c.Must(long, 500)
	c.Must(long, 421)
}

func TestLoginTimeout(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.LoginTimeout.Duration = 300 * time.Millisecond }})
	c := e.dial(false)
	if text := c.Reply(421); !strings.Contains(text, "login") {
		t.Fatalf("%q", text)
	}
}

func TestIdleTimeout(t *testing.T) {
	m := metrics.New()
	e := newEnv(t, envOpt{metrics: m, mutate: func(c *config.Config) { c.Limits.IdleTimeout.Duration = 400 * time.Millisecond }})
	c := e.dial(false)
	c.AuthTLS()
	c.login()
	if text := c.Reply(421); !strings.Contains(text, "idle") {
		t.Fatalf("%q", text)
	}
	waitMetric(t, m, `ftpsd_sessions_closed_total{reason="idle_timeout"} 1`)
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t, envOpt{implicit: true})
	c := e.dial(true)
	c.Must("AUTH TLS", 503)
	c.login()
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	e.writeFile("f", []byte("implicit"))
	got, code, text := c.Transfer("RETR f", nil, true)
	mustCode(t, "RETR", code, text, 226)
	if string(got) != "implicit" {
		t.Fatalf("got %q", got)
	}
}

func TestTLSMinVersion13(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.TLS.MinVersion = "1.3" }})
	c := e.dial(false)
	c.Must("AUTH TLS", 234)
	c.TLS.MaxVersion = tls.VersionTLS12
	tc := tls.Client(c.Raw, c.TLS)
	if err := tc.Handshake(); err == nil {
		t.Fatal("a TLS 1.2 client was accepted under minVersion 1.3")
	}
}

type panicAuth struct{ Authenticator }

func (panicAuth) Authenticate(string, string) (*users.User, error) { panic("boom") }

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, envOpt{auth: func(a Authenticator) Authenticator { return panicAuth{a} }})
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS x", 421)
	// The server survives.
	c2 := e.dial(false)
	c2.Must("NOOP", 200)
}

func TestIPv6EPSV(t *testing.T) {
	e := newEnv(t, envOpt{network: "tcp6"})
	c := e.dial(false)
	c.secure()
	c.Must("EPSV 1", 522)
	c.Must("PASV", 425)
	e.writeFile("six", []byte("v6"))
	got, code, text := c.Transfer("RETR six", nil, true)
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
	c.TLS.Certificates = []tls.Certificate{clientCert}
	c.AuthTLS()
	c.Must("USER carol", 232)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	_, code, text := c.Transfer("STOR by-cert", []byte("cert"), true)
	mustCode(t, "STOR", code, text, 226)
	c.Must("USER "+testUser, 331) // no certificate mapping: password as usual
	c.Must("PASS "+testPassword, 230)

	// Without a certificate, carol needs a password (and has none).
	c2 := e.dial(false)
	c2.AuthTLS()
	c2.Must("USER carol", 331)
	c2.Must("PASS x", 530)
}
