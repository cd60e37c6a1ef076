package main

import (
	"bytes"
	"strings"
	"testing"
)

// A kubelet-style certificate rotation under an open, logged-in session: the
// session goes on and transfers files (its data connections resume its TLS
// session), and a new connection gets the new certificate.
func TestReloadCertificateKeepsSessions(t *testing.T) {
	ta := startApp(t, "")
	c := ta.dial()
	st := c.AuthTLS()
	oldSerial := st.PeerCertificates[0].SerialNumber
	c.Login(testUser, testPassword)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	c.Must("TYPE I", 200)
	if _, code, text := c.Transfer("STOR before", []byte("before the swap"), true); code != 226 {
		t.Fatalf("STOR before the swap: %q", text)
	}

	certPEM, keyPEM, cert := pemPair(t)
	ta.pool.AddCert(cert)
	ta.write(ta.tlsDir, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	ta.waitReload("certificate", false)

	// The open session keeps working, data connections included.
	payload := bytes.Repeat([]byte("after the swap "), 5000)
	if _, code, text := c.Transfer("STOR after", payload, true); code != 226 {
		t.Fatalf("STOR after the swap: %q", text)
	}
	got, code, text := c.Transfer("RETR after", nil, true)
	if code != 226 || !bytes.Equal(got, payload) {
		t.Fatalf("RETR after the swap: %q, %d bytes", text, len(got))
	}
	c.Must("NOOP", 200)

	// A new connection sees the new certificate.
	c2 := ta.dial()
	st2 := c2.AuthTLS()
	if s := st2.PeerCertificates[0].SerialNumber; s.Cmp(cert.SerialNumber) != 0 || s.Cmp(oldSerial) == 0 {
		t.Fatalf("new connection got serial %s, want %s (old %s)", s, cert.SerialNumber, oldSerial)
	}
	c2.Login(testUser, testPassword)

	// A broken pair (key of another certificate) is refused: the last good
	// certificate stays.
	_, otherKey, _ := pemPair(t)
	ta.write(ta.tlsDir, map[string][]byte{"tls.crt": certPEM, "tls.key": otherKey})
	ta.waitReload("certificate", true) // a mismatched key pair is refused
	c3 := ta.dial()
	if s := c3.AuthTLS().PeerCertificates[0].SerialNumber; s.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("after a broken update, serial %s, want %s", s, cert.SerialNumber)
	}
	if _, m := ta.get("/metrics"); !strings.Contains(m, `ftpsd_reloads_total{file="certificate",result="failed"}`) {
		t.Fatal("failed certificate reload not counted")
	}
}

// A users file that does not parse is refused; the users in force keep
// logging in. A good file then replaces them.
func TestReloadUsersFile(t *testing.T) {
	ta := startApp(t, "")
	ta.write(ta.usersDir, map[string][]byte{"users.yaml": []byte("users: [ {username: alice, passwordHash: \"not a hash\"} ]\n")})
	ta.waitReload("users", true)
	c := ta.dial()
	c.AuthTLS()
	c.Login(testUser, testPassword)

	ta.write(ta.usersDir, map[string][]byte{"users.yaml": usersYAML(t, "bob")})
	ta.waitReload("users", false)
	c2 := ta.dial()
	c2.AuthTLS()
	c2.Login("bob", testPassword)
	c2.Must("USER "+testUser, 331)
	c2.Must("PASS "+testPassword, 530) // alice is gone
	c.Must("NOOP", 200)                // her open session is not
	code, m := ta.get("/metrics")
	if code != 200 || !strings.Contains(m, `ftpsd_reloads_total{file="users",result="failed"} `) ||
		strings.Contains(m, `ftpsd_reloads_total{file="users",result="failed"} 0`) {
		t.Fatalf("users reload failures not counted:\n%s", m)
	}
}

// A policy change takes effect for new sessions without a restart; open
// sessions keep the policy they started with. A config that does not
// validate is refused, and a listener change is logged as needing a restart.
func TestReloadConfigPolicy(t *testing.T) {
	ta := startApp(t, "")
	old := ta.dial()
	old.Secure(testUser, testPassword)
	mustWriteFile(t, ta.home(testUser)+"/f", []byte("x"))

	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": ta.configYAML(
		"policy: {control: {ccc: AllowAfterLogin}, data: {protection: PrivateExceptListings}}\n")})
	ta.waitReload("config", false)

	// New session: PROT C listings and CCC are allowed now.
	c := ta.dial()
	c.Secure(testUser, testPassword)
	c.Must("PROT C", 200)
	if got, code, text := c.Transfer("NLST", nil, false); code != 226 || !strings.Contains(string(got), "f") {
		t.Fatalf("clear NLST under PrivateExceptListings: %q %q", text, got)
	}
	if _, code, _ := c.Transfer("RETR f", nil, false); code != 521 {
		t.Fatalf("clear RETR under PrivateExceptListings: %d, want 521", code)
	}
	c.Must("CCC", 200)

	// The session opened before the change keeps its policy.
	old.Must("PROT C", 534)
	old.Must("CCC", 534)

	// An invalid value is refused; the config in force stays.
	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": ta.configYAML("policy: {control: {ccc: Sometimes}}\n")})
	ta.waitReload("config", true)
	c2 := ta.dial()
	c2.Secure(testUser, testPassword)
	c2.Must("CCC", 200)

	// A listener change needs a restart: logged, not applied.
	y := strings.Replace(string(ta.configYAML("")), `listen: "127.0.0.1:0"`, `listen: "127.0.0.1:1"`, 1)
	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": []byte(y)})
	ta.waitReload("config", false)
	if !strings.Contains(ta.logs.String(), "need a restart") || !strings.Contains(ta.logs.String(), `"listen"`) {
		t.Fatal("a listener change was not reported as needing a restart")
	}
	ta.dial().Must("NOOP", 200)
}

// TestCredentialCacheOption: credentialCache: false makes every login verify
// the password hash and keeps nothing in the cache; turning it back on in
// the config file takes effect on reload.
func TestCredentialCacheOption(t *testing.T) {
	ta := startApp(t, "credentialCache: false\n")
	login := func() {
		c := ta.dial()
		c.AuthTLS()
		c.Login(testUser, testPassword)
		c.Must("QUIT", 221)
	}
	login()
	login()
	if st := ta.a.store.Stats(); st.HashVerifications != 2 || st.CacheEntries != 0 || st.CacheHits != 0 {
		t.Fatalf("cache off: %+v", st)
	}
	ta.write(ta.cfgDir, map[string][]byte{"ftpsd.yaml": ta.configYAML("credentialCache: true\n")})
	ta.waitReload("config", false)
	login()
	login()
	if st := ta.a.store.Stats(); st.HashVerifications != 3 || st.CacheHits != 1 || st.CacheEntries != 1 {
		t.Fatalf("cache back on: %+v", st)
	}
}
