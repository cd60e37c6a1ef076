package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Upload and download under PROT P, resuming the control session's TLS
// session, under TLS 1.2 and TLS 1.3.
func TestUploadDownloadProtected(t *testing.T) {
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t, envOpt{})
			c := e.dial(false)
			c.TLS.MaxVersion = v.max
			c.secure()
			c.Must("TYPE I", 200)
			data := randomBytes(t, 3<<20+17)
			_, code, text := c.Transfer("STOR up.bin", data, true)
			mustCode(t, "STOR", code, text, 226)
			onDisk, err := e.readFile("up.bin")
			if err != nil || sha256.Sum256(onDisk) != sha256.Sum256(data) {
				t.Fatalf("file on disk differs (%v)", err)
			}
			got, code, text := c.Transfer("RETR up.bin", nil, true)
			mustCode(t, "RETR", code, text, 226)
			if !bytes.Equal(got, data) {
				t.Fatalf("downloaded %d bytes differ", len(got))
			}
			if cs := c.Ctl.(*tls.Conn).ConnectionState(); cs.Version != v.max {
				t.Fatalf("negotiated %x", cs.Version)
			}
		})
	}
}

// A data connection that does not resume the control connection's TLS
// session gets 522 after the 150, and STOR creates nothing.
func TestDataRequiresSessionReuse(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			e := newEnv(t, envOpt{})
			c := e.dial(false)
			c.TLS.MaxVersion = v
			c.secure()
			// A fresh session: no ticket at all.
			addr := c.EPSV()
			d := c.DialData(addr)
			c.Must("STOR nope.bin", 150)
			fresh := e.tlsConfig(v)
			tc := tls.Client(d, fresh)
			_ = tc.Handshake() // the server closes after the handshake
			c.Reply(522)
			if _, err := e.readFile("nope.bin"); !os.IsNotExist(err) {
				t.Fatalf("STOR created a file: %v", err)
			}
			if names := listDirNames(t, e.home()); len(names) != 0 {
				t.Fatalf("files left behind: %v", names)
			}

			// A ticket from another control session (same user) must not resume.
			other := e.dial(false)
			other.TLS.MaxVersion = v
			other.secure()
			other.Must("NOOP", 200) // make sure the ticket has arrived
			addr = c.EPSV()
			d = c.DialData(addr)
			c.Must("STOR nope.bin", 150)
			tc = tls.Client(d, other.TLS) // other session's ticket cache
			_ = tc.Handshake()
			c.Reply(522)
			if _, err := e.readFile("nope.bin"); !os.IsNotExist(err) {
				t.Fatalf("STOR created a file: %v", err)
			}
			// And the right session still works.
			_, code, text := c.Transfer("STOR yes.bin", []byte("ok"), true)
			mustCode(t, "STOR", code, text, 226)
		})
	}
}

func TestSessionReuseOptional(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.SessionReuse = config.SessionReuseOptional }})
	c := e.dial(false)
	c.secure()
	addr := c.EPSV()
	d := c.DialData(addr)
	c.Must("STOR x", 150)
	tc := tls.Client(d, e.tlsConfig(0))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	_, _ = tc.Write([]byte("fresh"))
	_ = tc.Close()
	c.Reply(226)
	if b, _ := e.readFile("x"); string(b) != "fresh" {
		t.Fatalf("got %q", b)
	}
}

// 521 before any 1xx when PROT is not acceptable.
func TestProtectionPolicy(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("f", []byte("x"))
	c := e.dial(false)
	c.AuthTLS()
	c.login()
	c.EPSV()
	for _, cmd := range []string{"LIST", "NLST", "MLSD", "RETR f", "STOR g", "APPE g", "STOU"} {
		c.Must(cmd, 521)
	}

	e2 := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.Protection = config.ProtectionPrivateExceptListings }})
	e2.writeFile("f", []byte("x"))
	c2 := e2.dial(false)
	c2.AuthTLS()
	c2.login()
	c2.Must("PBSZ 0", 200)
	c2.Must("PROT C", 200)
	got, code, text := c2.Transfer("NLST", nil, false)
	mustCode(t, "clear NLST", code, text, 226)
	if strings.TrimSpace(string(got)) != "f" {
		t.Fatalf("NLST: %q", got)
	}
	c2.EPSV()
	c2.Must("RETR f", 521)

	e3 := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.Data.Protection = config.ProtectionClear
		c.Policy.Control.RequireTLS = config.RequireTLSOptional
	}})
	e3.writeFile("f", []byte("clear"))
	c3 := e3.dial(false)
	c3.login()
	got, code, text = c3.Transfer("RETR f", nil, false)
	mustCode(t, "clear RETR", code, text, 226)
	if string(got) != "clear" {
		t.Fatalf("got %q", got)
	}
	// Clear TYPE I transfers take the sendfile/splice path.
	c3.Must("TYPE I", 200)
	big := randomBytes(t, 3<<20+1)
	_, code, text = c3.Transfer("STOR big", big, false)
	mustCode(t, "clear STOR", code, text, 226)
	if b, _ := e3.readFile("big"); !bytes.Equal(b, big) {
		t.Fatal("clear upload differs on disk")
	}
	got, code, text = c3.Transfer("RETR big", nil, false)
	mustCode(t, "clear RETR big", code, text, 226)
	if !bytes.Equal(got, big) {
		t.Fatal("clear download differs")
	}
}

// A connection to the passive port from another address is closed and the
// port keeps waiting for the client.
func TestPassiveRequiresSameAddress(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("f", []byte("mine"))
	c := e.dial(false)
	c.secure()
	addr := c.EPSV()
	intruder, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial from 127.0.0.2: %v (the tests need the whole 127.0.0.0/8 on loopback)", err)
	}
	defer intruder.Close()
	code, text := c.Cmd("RETR f")
	mustCode(t, "RETR", code, text, 150)
	_ = intruder.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := intruder.Read(make([]byte, 16)); err == nil || n > 0 {
		t.Fatalf("intruder got data (%d, %v)", n, err)
	}
	d := c.DialData(addr)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dc)
	c.Reply(226)
	if string(got) != "mine" {
		t.Fatalf("got %q", got)
	}
}

func TestActiveModeDisabled(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.secure()
	c.Must("PORT 127,0,0,1,200,10", 502)
	c.Must("EPRT |1|127.0.0.1|51210|", 502)
}

func TestActiveMode(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly }})
	e.writeFile("f", []byte("active"))
	c := e.dial(false)
	c.secure()
	c.Must("PORT 127,0,0,2,200,10", 504) // another address: no bounce
	c.Must("PORT 127,0,0,1,0,21", 504)   // privileged port
	c.Must("PORT 1,2,3", 501)
	c.Must("EPRT |1|10.0.0.1|50000|", 504)
	c.Must("EPRT |3|x|1|", 522)
	c.Must("EPRT junk", 501)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	c.Must(fmt.Sprintf("EPRT |1|127.0.0.1|%d|", port), 200)
	c.Must("RETR f", 150)
	d, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = d.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(d, c.TLS) // ftpsd is the TLS server even when it dialled
	got, err := io.ReadAll(tc)
	if err != nil {
		t.Fatal(err)
	}
	c.Reply(226)
	if string(got) != "active" {
		t.Fatalf("got %q", got)
	}
	c.Must("EPSV ALL", 200)
	c.Must("PASV", 503)
	c.Must(fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&255), 503)
	c.EPSV()
}

func TestPASV(t *testing.T) {
	replica := 2
	e := newEnv(t, envOpt{ordinal: &replica, mutate: func(c *config.Config) {
		c.Passive.PortRange = "31000-31999"
		c.Passive.PerReplica = &config.PerReplica{PortsPerReplica: 100}
		c.Passive.Addresses = map[string]string{"2": "203.0.113.10"}
	}})
	c := e.dial(false)
	c.secure()
	text := c.Must("PASV", 227)
	m := regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`).FindStringSubmatch(text)
	if m == nil || m[1]+"."+m[2]+"."+m[3]+"."+m[4] != "203.0.113.10" {
		t.Fatalf("PASV: %q", text)
	}
	var hi, lo int
	_, _ = fmt.Sscan(m[5], &hi)
	_, _ = fmt.Sscan(m[6], &lo)
	if p := hi*256 + lo; p < 31200 || p >= 31300 {
		t.Fatalf("port %d outside replica 2's slice", p)
	}
	_, port, _ := net.SplitHostPort(c.EPSV())
	var p int
	_, _ = fmt.Sscan(port, &p)
	if p < 31200 || p >= 31300 {
		t.Fatalf("EPSV port %d outside replica 2's slice", p)
	}
	c.Must("EPSV 2", 522)
}

func bigFile(t *testing.T, e *testEnv, name string, size int64) {
	e.writeFile(name, nil)
	if err := os.Truncate(filepath.Join(e.home(), name), size); err != nil {
		t.Fatal(err)
	}
}

// ABOR and STAT are read from the TLS control stream while a transfer runs.
func TestABORAndSTATDuringTransfer(t *testing.T) {
	e := newEnv(t, envOpt{})
	bigFile(t, e, "big", 512<<20)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	addr := c.EPSV()
	d := c.DialData(addr)
	c.Must("RETR big", 150)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(dc, make([]byte, 1<<16)); err != nil {
		t.Fatal(err)
	}
	// Stop reading: the server blocks on the data connection.
	if text := c.Must("STAT", 211); !strings.Contains(text, "RETR /big") {
		t.Fatalf("STAT during transfer: %q", text)
	}
	c.Must("ABOR", 426)
	c.Reply(226)
	c.Must("NOOP", 200)
	c.Must("ABOR", 226) // nothing to abort
}

// An aborted upload leaves nothing, not even its temporary file.
func TestAbortedUploadLeavesNothing(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.secure()
	addr := c.EPSV()
	d := c.DialData(addr)
	c.Must("STOR partial", 150)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Write([]byte("half of it")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Must("ABOR", 426)
	c.Reply(226)
	if names := listDirNames(t, e.home()); len(names) != 0 {
		t.Fatalf("left behind: %v", names)
	}
}

// Temporary upload names are hidden from listings and refused as names.
func TestTempFilesHidden(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile(".ftpsd-upload-0123.tmp", []byte("in progress"))
	e.writeFile("visible", []byte("v"))
	c := e.dial(false)
	c.secure()
	for _, cmd := range []string{"NLST", "LIST", "MLSD"} {
		got, code, text := c.Transfer(cmd, nil, true)
		mustCode(t, cmd, code, text, 226)
		if strings.Contains(string(got), ".ftpsd-") || !strings.Contains(string(got), "visible") {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	c.Must("RETR .ftpsd-upload-0123.tmp", 553)
	c.Must("DELE .ftpsd-upload-0123.tmp", 553)
	c.Must("STOR sub/.ftpsd-x", 553)
}

func TestRESTAndAPPE(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("f", []byte("0123456789"))
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	c.Must("REST 4", 350)
	got, code, text := c.Transfer("RETR f", nil, true)
	mustCode(t, "REST+RETR", code, text, 226)
	if string(got) != "456789" {
		t.Fatalf("REST+RETR: %q", got)
	}
	c.Must("REST 3", 350)
	_, code, text = c.Transfer("STOR f", []byte("abc"), true)
	mustCode(t, "REST+STOR", code, text, 226)
	if b, _ := e.readFile("f"); string(b) != "012abc" {
		t.Fatalf("REST+STOR: %q", b)
	}
	_, code, text = c.Transfer("APPE f", []byte("XYZ"), true)
	mustCode(t, "APPE", code, text, 226)
	if b, _ := e.readFile("f"); string(b) != "012abcXYZ" {
		t.Fatalf("APPE: %q", b)
	}
	_, code, text = c.Transfer("APPE new", []byte("N"), true)
	mustCode(t, "APPE new", code, text, 226)
	c.Must("REST 100", 350)
	c.EPSV()
	c.Must("RETR f", 554)
	_, code, text = c.Transfer("STOU", []byte("unique"), true)
	mustCode(t, "STOU", code, text, 226)
	names := listDirNames(t, e.home())
	if len(names) != 3 {
		t.Fatalf("after STOU: %v", names)
	}
}

func TestTypeA(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	c.secure()
	c.Must("TYPE A", 200)
	_, code, text := c.Transfer("STOR t.txt", []byte("one\r\ntwo\r\nlone\rcr\r\n"), true)
	mustCode(t, "STOR", code, text, 226)
	if b, _ := e.readFile("t.txt"); string(b) != "one\ntwo\nlone\rcr\n" {
		t.Fatalf("on disk: %q", b)
	}
	got, code, text := c.Transfer("RETR t.txt", nil, true)
	mustCode(t, "RETR", code, text, 226)
	if string(got) != "one\r\ntwo\r\nlone\rcr\r\n" {
		t.Fatalf("RETR: %q", got)
	}
}

func TestFileCommands(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("a.txt", []byte("hello"))
	c := e.dial(false)
	c.secure()
	c.Must("MKD dir", 257)
	c.Must("MKD dir", 550)
	c.Must("CWD dir", 250)
	if text := c.Must("PWD", 257); !strings.Contains(text, `"/dir"`) {
		t.Fatalf("PWD: %q", text)
	}
	c.Must("CDUP", 200)
	c.Must("SIZE a.txt", 213)
	if text := c.Must("MDTM a.txt", 213); !regexp.MustCompile(`^213 \d{14}$`).MatchString(text) {
		t.Fatalf("MDTM: %q", text)
	}
	c.Must("SIZE dir", 550)
	c.Must("RNFR a.txt", 350)
	c.Must("RNTO dir/b.txt", 250)
	c.Must("RNFR missing", 550)
	c.Must("RMD dir", 550) // not empty
	c.Must("DELE dir/b.txt", 250)
	c.Must("DELE dir/b.txt", 550)
	c.Must("RMD dir", 250)
	c.Must("CWD nowhere", 550)
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, envOpt{perms: []users.Permission{users.PermList, users.PermRead}})
	e.writeFile("a", []byte("a"))
	c := e.dial(false)
	c.secure()
	c.Must("MKD d", 550)
	c.Must("DELE a", 550)
	c.Must("RNFR a", 550)
	c.Must("STOR b", 550)
	text := c.Must("MLST a", 250)
	if !strings.Contains(text, "perm=r;") {
		t.Fatalf("MLST perm: %q", text)
	}
}

// Users are confined to their home: no escape by "..", absolute paths or
// symlinks.
func TestConfinement(t *testing.T) {
	e := newEnv(t, envOpt{})
	secret := filepath.Join(e.root, "bob", "secret")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("bob's"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.writeFile("mine", []byte("m"))
	if err := os.Symlink("../bob/secret", filepath.Join(e.home(), "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(e.home(), "etc")); err != nil {
		t.Fatal(err)
	}
	c := e.dial(false)
	c.secure()
	c.Must("CWD ../../..", 250)
	if text := c.Must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("escaped: %q", text)
	}
	c.Must("SIZE ../bob/secret", 550)
	c.Must("SIZE /../bob/secret", 550)
	c.Must("SIZE link", 550)
	c.Must("CWD etc", 550)
	c.Must("SIZE /mine", 213)
	c.Must("MKD ../../outside", 257)
	if _, err := os.Stat(filepath.Join(e.home(), "outside")); err != nil {
		t.Fatalf("MKD ../../outside did not land in the home: %v", err)
	}
	got, code, text := c.Transfer("NLST", nil, true)
	mustCode(t, "NLST", code, text, 226)
	if strings.Contains(string(got), "link") || strings.Contains(string(got), "etc") {
		t.Fatalf("escaping links listed: %q", got)
	}
	c.EPSV()
	c.Must("RETR link", 550)
}

func TestListingFormats(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("file.txt", []byte("12345"))
	if err := os.Mkdir(filepath.Join(e.home(), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.dial(false)
	c.secure()
	got, code, text := c.Transfer("LIST -la", nil, true)
	mustCode(t, "LIST", code, text, 226)
	lsRE := regexp.MustCompile(`(?m)^-rw-r--r-- 1 ftp ftp +5 [A-Z][a-z]{2} [ \d]\d [ \d]\d:\d\d file\.txt\r$`)
	if !lsRE.Match(got) || !regexp.MustCompile(`(?m)^drwxr-xr-x .* sub\r$`).Match(got) {
		t.Fatalf("LIST: %q", got)
	}
	got, code, text = c.Transfer("MLSD", nil, true)
	mustCode(t, "MLSD", code, text, 226)
	mlsdRE := regexp.MustCompile(`(?m)^type=file;size=5;modify=\d{14};perm=rawdf;unique=[0-9a-f]+U[0-9a-f]+; file\.txt\r$`)
	if !mlsdRE.Match(got) || !strings.Contains(string(got), "type=dir;") {
		t.Fatalf("MLSD: %q", got)
	}
	c.EPSV()
	c.Must("MLSD file.txt", 550)
	text = c.Must("MLST file.txt", 250)
	if !strings.Contains(text, "type=file;size=5;") || !strings.Contains(text, " /file.txt") {
		t.Fatalf("MLST: %q", text)
	}
	text = c.Must("STAT /", 213)
	if !strings.Contains(text, "file.txt") {
		t.Fatalf("STAT /: %q", text)
	}
	c.Must("LIST nowhere", 550)
}

func TestShutdownDrainsTransfers(t *testing.T) {
	e := newEnv(t, envOpt{})
	data := randomBytes(t, 1<<20)
	e.writeFile("f", data)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	addr := c.EPSV()
	d := c.DialData(addr)
	c.Must("RETR f", 150)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	idle := e.dial(false)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	got, err := io.ReadAll(dc) // the running transfer finishes
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("transfer cut short: %d bytes, %v", len(got), err)
	}
	c.Reply(226)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Reply(421)
	idle.Reply(421)
	if _, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		t.Fatal("listener still open")
	}
}

// The idle timeout does not cut a session while its transfer runs.
func TestIdleTimeoutSparesTransfers(t *testing.T) {
	// The idle time counts from the server's end of the transfer, when up
	// to the socket buffers (4 MiB) may still be unread by the client: the
	// idle timeout leaves room for a loaded machine to read them.
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.IdleTimeout.Duration = 2 * time.Second }})
	bigFile(t, e, "f", 12<<20)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	addr := c.EPSV()
	d := c.DialData(addr)
	// A small window, so that the server's end of transfer is close to ours
	// (the idle time counts from the server's end of the transfer).
	_ = d.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.Must("RETR f", 150)
	dc, err := c.Wrap(d, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // twice the idle timeout, transfer stalled
	got, err := io.ReadAll(dc)
	if err != nil || len(got) != 12<<20 {
		t.Fatalf("transfer: %d bytes, %v", len(got), err)
	}
	c.Reply(226)
	c.Must("NOOP", 200)
}

func TestMaxSessionsPerIP(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.MaxSessionsPerIP = 2 }})
	a := e.dial(false)
	b := e.dial(false)
	raw, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufioReadLine(raw)
	if !strings.HasPrefix(line, "421 ") {
		t.Fatalf("third session: %q", line)
	}
	a.Must("QUIT", 221)
	b.Must("NOOP", 200)
}

func bufioReadLine(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for range 4096 {
		if _, err := c.Read(one); err != nil {
			return string(b), err
		}
		if one[0] == '\n' {
			break
		}
		b = append(b, one[0])
	}
	return strings.TrimRight(string(b), "\r"), nil
}

// A DNS name as the advertised address (a load balancer's hostname) is
// resolved to IPv4 for the 227 reply.
func TestPASVHostname(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Passive.Address = "localhost" }})
	c := e.dial(false)
	c.secure()
	if text := c.Must("PASV", 227); !strings.Contains(text, "(127,0,0,1,") {
		t.Fatalf("PASV: %q", text)
	}
}

// Uploads larger than writebackChunk, with and without syncUploads, over
// protected and clear data connections: the file is complete and in place,
// and no temporary file is left.
func TestUploadSyncModes(t *testing.T) {
	data := randomBytes(t, 2*writebackChunk+5)
	for _, sync := range []bool{true, false} {
		for _, prot := range []string{"P", "C"} {
			t.Run(fmt.Sprintf("sync=%v/PROT_%s", sync, prot), func(t *testing.T) {
				e := newEnv(t, envOpt{mutate: func(c *config.Config) {
					c.SyncUploads = &sync
					c.Policy.Data.Protection = config.ProtectionClientChoice
				}})
				c := e.dial(false)
				c.AuthTLS()
				c.login()
				c.Must("PBSZ 0", 200)
				c.Must("PROT "+prot, 200)
				c.Must("TYPE I", 200)
				_, code, text := c.Transfer("STOR up.bin", data, prot == "P")
				mustCode(t, "STOR", code, text, 226)
				onDisk, err := e.readFile("up.bin")
				if err != nil || !bytes.Equal(onDisk, data) {
					t.Fatalf("file on disk differs (%d bytes, %v)", len(onDisk), err)
				}
				if names := listDirNames(t, e.home()); len(names) != 1 {
					t.Fatalf("home holds %q, want only up.bin", names)
				}
			})
		}
	}
}
