package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// Hostile clients (issue 9): whatever one client does, the limits apply to
// it and the server stays up for the others.

// dialRawFrom opens a TCP connection to addr from the loopback address local.
func dialRawFrom(t testing.TB, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial %s from %s: %v (the tests need the whole 127.0.0.0/8 on loopback)", addr, local, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// clientFrom is dial (explicit FTPS) from the loopback address local.
func (e *testEnv) clientFrom(local string) *client {
	e.t.Helper()
	raw := dialRawFrom(e.t, local, e.addr)
	c := e.newClient(e.t, raw)
	_ = raw.SetDeadline(time.Now().Add(60 * time.Second))
	c.Reply(220)
	return c
}

// transferFrom is transfer with the data connection dialled from local, the
// control connection's own address (policy.data.requireSameAddress).
func (c *client) transferFrom(local, command string, upload []byte) ([]byte, int, string) {
	c.T.Helper()
	d := dialRawFrom(c.T, local, c.EPSV())
	_ = d.SetDeadline(time.Now().Add(30 * time.Second))
	code, text := c.Cmd(command)
	if code != 150 {
		return nil, code, text
	}
	tc := tls.Client(d, c.TLS)
	if err := tc.Handshake(); err != nil {
		code, text := c.Read()
		return nil, code, text
	}
	return c.MoveData(d, tc, upload)
}

// roundTrip logs a client in from local, uploads a file and reads it back,
// then quits: the service a well-behaved client gets during an abuse.
func roundTrip(t *testing.T, e *testEnv, local, name string) {
	t.Helper()
	c := e.clientFrom(local)
	c.secure()
	data := []byte("served during the abuse: " + name)
	_, code, text := c.transferFrom(local, "STOR "+name, data)
	mustCode(t, "STOR", code, text, 226)
	got, code, text := c.transferFrom(local, "RETR "+name, nil)
	mustCode(t, "RETR", code, text, 226)
	if !bytes.Equal(got, data) {
		t.Fatalf("RETR %s: got %q", name, got)
	}
	c.Must("QUIT", 221)
	_ = c.Raw.Close()
}

// goroutineSlack allows for the runtime's and the test's own goroutines that
// come and go (timers, the previous test's cleanups) when comparing
// runtime.NumGoroutine with a baseline.
const goroutineSlack = 10

// settled waits until the server has no session left and the goroutine count
// is back to base (within goroutineSlack).
func settled(t *testing.T, e *testEnv, base int) {
	t.Helper()
	ftptest.Eventually(t, 60*time.Second, 20*time.Millisecond, "back to no session", ftptest.Holds(func() bool { return len(e.srv.openSessions()) == 0 }))
	ftptest.Eventually(t, 60*time.Second, 20*time.Millisecond, fmt.Sprintf("back to about %d goroutines", base), ftptest.Holds(func() bool {
		return runtime.NumGoroutine() <= base+goroutineSlack
	}))
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	if len(e.srv.perIP) != 0 || len(e.srv.passiveHeld) != 0 {
		t.Fatalf("per-address counts left: sessions %v, passive ports %v", e.srv.perIP, e.srv.passiveHeld)
	}
}

// readUntilClosed reads c until the server closes it and returns what came;
// it fails when c is still open at the deadline.
func readUntilClosed(t *testing.T, c net.Conn, deadline time.Time) string {
	t.Helper()
	_ = c.SetReadDeadline(deadline)
	var got bytes.Buffer
	_, err := io.Copy(&got, io.LimitReader(c, 1<<20))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection %s still open; got %q", c.LocalAddr(), got.String())
	}
	return got.String()
}

// One address holding idle PASVs gets at most half of the passive ports; a
// client from another address still transfers; the held ports come back
// after dataTimeout, and the late data command gets 425.
func TestAbusePassivePortsHeld(t *testing.T) {
	const first, ports = 32600, 8 // below the ephemeral range: no client socket takes one
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Passive.PortRange = fmt.Sprintf("%d-%d", first, first+ports-1)
		c.Limits.DataTimeout.Duration = 2 * time.Second
	}})
	base := runtime.NumGoroutine()
	hoarder := netip.MustParseAddr("127.0.0.1")
	share := passiveShare(first, first+ports-1)
	if share != ports/2 {
		t.Fatalf("share of %d ports: %d", ports, share)
	}
	// Log in first, then PASV in quick succession: each session holds one
	// passive listener, and only their expiry (2s) could free one meanwhile.
	var sessions []*client
	for range ports {
		c := e.dial(false)
		c.secure()
		sessions = append(sessions, c)
	}
	var held []*client
	refused := false
	for _, c := range sessions {
		code, text := c.Cmd("PASV")
		if code == 425 {
			if !strings.Contains(text, "your address holds too many passive ports") {
				t.Fatalf("PASV over the share: %q", text)
			}
			c.Must("NOOP", 200) // the session goes on
			c.Must("EPSV", 425)
			refused = true
			break
		}
		mustCode(t, "PASV", code, text, 227)
		held = append(held, c)
		if n := e.srv.passiveHeldBy(hoarder); n > share {
			t.Fatalf("the address holds %d passive ports, its share is %d", n, share)
		}
	}
	if !refused {
		t.Fatalf("%d PASVs from one address and none refused (share %d)", len(held), share)
	}
	roundTrip(t, e, "127.0.0.2", "other-address")

	ftptest.Eventually(t, 30*time.Second, 20*time.Millisecond, "every held passive port closed", ftptest.Holds(func() bool { return e.srv.passiveHeldBy(hoarder) == 0 }))
	// A data command on an expired PASV: 425 (after 150, as RFC 959 allows).
	c := held[0]
	code, text := c.Cmd("LIST")
	if code == 150 {
		code, text = c.Read()
	}
	mustCode(t, "LIST on an expired PASV", code, text, 425)
	c.Must("NOOP", 200)
	// The address has its share again, and a transfer from it works.
	for _, c := range held[1:share] {
		c.Must("EPSV", 229)
	}
	_, code, text = held[0].Transfer("STOR after-expiry", []byte("x"), true)
	mustCode(t, "STOR after expiry", code, text, 226)
	for _, c := range sessions {
		_ = c.Raw.Close()
	}
	settled(t, e, base)
}

// 200 control connections that dribble a byte a second and never finish a
// line (or a TLS handshake) are closed by the login timeout, while a client
// from another address logs in and transfers.
func TestAbuseSlowLoris(t *testing.T) {
	// The timeout counts from the connection: long enough for this test to
	// read 200 greetings and send 100 AUTH TLS on a loaded machine first.
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.LoginTimeout.Duration = 5 * time.Second }})
	base := runtime.NumGoroutine()
	const n = 200
	type loris struct {
		conn net.Conn
		tls  bool // dribbles a TLS record after AUTH TLS
	}
	var all []loris
	for i := range n {
		// 50 per address: limits.maxSessionsPerIP (default) admits them all.
		c := dialRawFrom(t, fmt.Sprintf("127.0.1.%d", 1+i%4), e.addr)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		all = append(all, loris{conn: c, tls: i%2 == 1})
	}
	for _, l := range all {
		r := bufio.NewReader(l.conn)
		if code, text, err := ftptest.ReadReply(r); err != nil || code != 220 {
			t.Fatalf("greeting: %d %q %v", code, text, err)
		}
		if l.tls {
			if _, err := io.WriteString(l.conn, "AUTH TLS\r\n"); err != nil {
				t.Fatal(err)
			}
			if code, text, err := ftptest.ReadReply(r); err != nil || code != 234 {
				t.Fatalf("AUTH TLS: %d %q %v", code, text, err)
			}
		}
	}
	// One byte a second each: a command line that never ends, or a TLS
	// handshake record (type 22, 512 bytes announced) that never completes.
	line := []byte("USER alice-who-types-very-slowly")
	record := append([]byte{22, 3, 1, 2, 0}, bytes.Repeat([]byte{1}, 64)...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 30 {
			for _, l := range all {
				b := line[i%len(line)]
				if l.tls {
					b = record[min(i, len(record)-1)]
				}
				_, _ = l.conn.Write([]byte{b})
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	roundTrip(t, e, "127.0.0.2", "during-slow-loris")

	deadline := time.Now().Add(30 * time.Second)
	for _, l := range all {
		// A handshake that times out ends without a reply: there is no
		// TLS session to carry one.
		got := readUntilClosed(t, l.conn, deadline)
		if !l.tls && !strings.HasPrefix(got, "421 Timeout (login)") {
			t.Fatalf("slow command line: got %q, want 421 Timeout (login)", got)
		}
		_ = l.conn.Close()
	}
	settled(t, e, base)
}

// A client that never reads its replies loses its session when a reply
// cannot be written within the write timeout; others are served meanwhile.
func TestAbuseSlowReader(t *testing.T) {
	e := newEnv(t, envOpt{replyTimeout: time.Second})
	base := runtime.NumGoroutine()
	for i := range 2000 {
		e.writeFile(fmt.Sprintf("a-file-with-a-rather-long-name-so-that-STAT-says-a-lot-%04d", i), nil)
	}
	c := e.dial(false)
	c.secure()
	// A small receive window, so that the replies fill the buffers soon.
	if err := c.Raw.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	_ = c.Raw.SetDeadline(time.Now().Add(2 * time.Minute))
	var wg sync.WaitGroup
	wg.Go(func() {
		// About 200 KB of reply per STAT: far more than the socket buffers
		// hold. Writes fail once the server has closed the session.
		for range 300 {
			if _, err := io.WriteString(c.Ctl, "STAT /\r\n"); err != nil {
				return
			}
		}
	})
	ftptest.Eventually(t, 60*time.Second, 20*time.Millisecond, "the non-reading session closed", ftptest.Holds(func() bool { return len(e.srv.openSessions()) == 0 }))
	roundTrip(t, e, "127.0.0.2", "after-slow-reader")
	_ = c.Raw.Close()
	wg.Wait()
	settled(t, e, base)
}

// 2000 connections from one address: those beyond limits.maxSessionsPerIP
// get 421 and are closed, another address is still served, and beyond
// limits.maxSessions everyone gets 421; afterwards nothing is left.
func TestAbuseManyConnections(t *testing.T) {
	const total, perIP, maxSessions = 2000, 50, 60
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Limits.MaxSessionsPerIP = perIP
		c.Limits.MaxSessions = maxSessions
		c.Limits.LoginTimeout.Duration = 10 * time.Minute // admitted sessions stay until the end
	}})
	base := runtime.NumGoroutine()
	var conns []net.Conn
	for range total {
		conns = append(conns, dialRawFrom(t, "127.0.0.1", e.addr))
	}
	admitted, refused := 0, 0
	deadline := time.Now().Add(60 * time.Second)
	var open []net.Conn
	for _, c := range conns {
		_ = c.SetReadDeadline(deadline)
		code, text, err := ftptest.ReadReply(bufio.NewReader(c))
		switch {
		case err != nil:
			t.Fatalf("no reply on connection %d: %v", admitted+refused, err)
		case code == 220:
			admitted++
			open = append(open, c)
		case code == 421 && strings.Contains(text, "from your address"):
			refused++
			readUntilClosed(t, c, deadline)
			_ = c.Close()
		default:
			t.Fatalf("unexpected reply %q", text)
		}
	}
	if admitted != perIP || refused != total-perIP {
		t.Fatalf("admitted %d, refused %d; want %d and %d", admitted, refused, perIP, total-perIP)
	}
	roundTrip(t, e, "127.0.0.2", "beside-2000")
	ftptest.Eventually(t, 30*time.Second, 20*time.Millisecond, "the other address's session closed", ftptest.Holds(func() bool { return len(e.srv.openSessions()) == perIP }))

	// The server's own limit: 50 + 10 sessions, then 421 for everyone.
	for i := range 15 {
		c := dialRawFrom(t, "127.0.0.3", e.addr)
		_ = c.SetReadDeadline(deadline)
		code, text, err := ftptest.ReadReply(bufio.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		want := 220
		if i >= maxSessions-perIP {
			want = 421
		}
		if code != want {
			t.Fatalf("connection %d from 127.0.0.3: %q, want %d", i, text, want)
		}
		open = append(open, c)
	}
	for _, c := range open {
		_ = c.Close()
	}
	settled(t, e, base)
}

// 50,000 pipelined commands, sent without reading: every reply comes, in
// order; the server's memory stays flat (one line read at a time, replies
// written as they come), and another session is served meanwhile.
func TestAbuseCommandFlood(t *testing.T) {
	e := newEnv(t, envOpt{})
	base := runtime.NumGoroutine()
	c := e.dial(false)
	c.secure()
	_ = c.Raw.SetDeadline(time.Now().Add(5 * time.Minute))
	const n = 50000
	long := strings.Repeat("x", 2000)
	cmds := []struct {
		line string
		code int
	}{
		{"NOOP", 200},
		{"XYZZY " + long, 500}, // unknown, between known ones: the session goes on
		{"TYPE " + long, 501},
		{"MODE " + long, 501},
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	sampled := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		w := bufio.NewWriterSize(c.Ctl, 64<<10)
		for i := range n {
			_, _ = w.WriteString(cmds[i%len(cmds)].line + "\r\n")
		}
		_ = w.Flush()
	})
	// Start reading once the writer is done or stuck (the server stops
	// reading while its replies are not read): well before writeTimeout.
	wrote := make(chan struct{})
	go func() { wg.Wait(); close(wrote) }()
	select {
	case <-wrote:
	case <-time.After(2 * time.Second):
	}
	roundTrip(t, e, "127.0.0.2", "during-flood")
	for i := range n {
		code, text := c.Read()
		if want := cmds[i%len(cmds)].code; code != want {
			t.Fatalf("reply %d: %q, want %d", i, text, want)
		}
	}
	<-wrote
	close(done)
	<-sampled
	c.Must("NOOP", 200)
	const input = n / 4 * 3 * 2000
	if grew := int64(peak) - int64(before.HeapAlloc); grew > 32<<20 {
		t.Fatalf("heap grew by %d MB during a flood of %d MB", grew>>20, input>>20)
	}
	t.Logf("heap peak %d MB over %d MB before, for %d MB of commands", peak>>20, before.HeapAlloc>>20, input>>20)
	_ = c.Raw.Close()
	settled(t, e, base)
}

// maxUnknownCommands unknown commands in a row close the session; a known
// command in between resets the count. An HTTP request sent to the control
// port is closed before its headers end.
func TestAbuseUnknownCommands(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	for range 3 {
		for range maxUnknownCommands - 1 {
			c.Must("BOGUS", 500)
		}
		c.Must("NOOP", 200)
	}
	for range maxUnknownCommands - 1 {
		c.Must("BOGUS", 500)
	}
	if text := c.Must("BOGUS", 421); !strings.Contains(text, "unknown commands") {
		t.Fatalf("%q", text)
	}
	if got := readUntilClosed(t, c.Raw, time.Now().Add(10*time.Second)); got != "" {
		t.Fatalf("after 421: %q", got)
	}

	h := e.dial(false)
	h.Send("POST /upload HTTP/1.1\r\nHost: ftpsd.test\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n" +
		"Accept-Language: en\r\nAccept-Encoding: gzip\r\nContent-Type: text/plain\r\nOrigin: https://evil.test\r\n" +
		"Content-Length: 36\r\n\r\nUSER alice\r\nPASS x\r\nSTOR pwned\r\n")
	for range maxUnknownCommands - 1 {
		h.Reply(500)
	}
	h.Reply(421)
	if got := readUntilClosed(t, h.Raw, time.Now().Add(10*time.Second)); got != "" {
		t.Fatalf("after 421: %q", got)
	}
}

// A line without an end is read up to maxDiscard and the session is closed
// with 421; the server is unaffected.
func TestAbuseEndlessLine(t *testing.T) {
	e := newEnv(t, envOpt{})
	c := e.dial(false)
	var wg sync.WaitGroup
	wg.Go(func() {
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		for range 128 { // 8 MB; fails once the server has closed
			if _, err := c.Raw.Write(chunk); err != nil {
				return
			}
		}
	})
	got := readUntilClosed(t, c.Raw, time.Now().Add(30*time.Second))
	if !strings.HasPrefix(got, "421 Command line too long and without an end") {
		t.Fatalf("got %q", got)
	}
	_ = c.Raw.Close()
	wg.Wait()
	roundTrip(t, e, "127.0.0.2", "after-endless-line")
}

// Paths that are not UTF-8 (RFC 2640) are refused with 501 and create
// nothing; names on the volume that are not UTF-8 stay out of every listing.
func TestAbuseNonUTF8Paths(t *testing.T) {
	e := newEnv(t, envOpt{})
	e.writeFile("ok.txt", []byte("ok"))
	c := e.dial(false)
	c.secure()
	bad := "caf\xe9" // Latin-1, not UTF-8
	for _, line := range []string{"MKD " + bad, "CWD " + bad, "DELE " + bad, "RMD " + bad, "SIZE " + bad,
		"MDTM " + bad, "RNFR " + bad, "MLST " + bad, "STAT " + bad, "MKD dir/" + bad + "/sub", "CWD \xc3\x28"} {
		if text := c.Must(line, 501); !strings.Contains(text, "UTF-8") || !utf8.ValidString(text) {
			t.Fatalf("%q: %q", line, text)
		}
	}
	c.Must("RNFR ok.txt", 350)
	c.Must("RNTO "+bad, 501)
	for _, cmd := range []string{"STOR " + bad, "APPE " + bad, "RETR " + bad, "LIST " + bad, "NLST " + bad, "MLSD " + bad} {
		_, code, text := c.Transfer(cmd, nil, true)
		mustCode(t, cmd, code, text, 501)
	}
	c.Must("NOOP", 200)
	if names := listDirNames(t, e.home()); len(names) != 1 || names[0] != "ok.txt" {
		t.Fatalf("home holds %q", names)
	}

	// Names created on the volume directly: left out of every listing.
	for _, name := range []string{bad, "two\nlines", "cr\rname"} {
		if err := os.WriteFile(filepath.Join(e.home(), name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(e.home(), "dir\xff"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"LIST", "NLST", "MLSD"} {
		got, code, text := c.Transfer(verb, nil, true)
		mustCode(t, verb, code, text, 226)
		lines := strings.Split(strings.TrimSuffix(string(got), "\r\n"), "\r\n")
		if !utf8.Valid(got) || len(lines) != 1 || !strings.HasSuffix(lines[0], "ok.txt") {
			t.Fatalf("%s: %q", verb, got)
		}
	}
	c.Must("NOOP", 200) // the last listing's transfer has ended: STAT shows the folder
	if text := c.Must("STAT /", 213); !utf8.ValidString(text) || strings.Contains(text, "caf") || strings.Contains(text, "dir") {
		t.Fatalf("STAT: %q", text)
	}
	c.Must("RNFR ok.txt", 350)
	c.Must("RNTO café.txt", 250) // valid UTF-8 is of course fine
	// Replies that quote the client stay UTF-8 too.
	if text := c.Must("USER "+bad, 331); !utf8.ValidString(text) {
		t.Fatalf("USER: %q", text)
	}
}

// What data_test.go does not already cover of RFC 2577's bounce attack and
// of data-connection hijacking: EPRT to a privileged port, to another host
// over IPv6 or as an IPv4-mapped address, and PORT to broadcast or "this
// host": all 504 with no target recorded and nothing dialled. A flood of
// connections from another address to a passive port does not keep the
// real client from its transfer.
func TestAbuseBounceAndHijack(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly }})
	e.writeFile("f", []byte("mine"))
	victim, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("cannot listen on 127.0.0.2: %v (the tests need the whole 127.0.0.0/8 on loopback)", err)
	}
	defer victim.Close()
	vp := victim.Addr().(*net.TCPAddr).Port
	c := e.dial(false)
	c.secure()
	for _, line := range []string{
		fmt.Sprintf("PORT 127,0,0,2,%d,%d", vp>>8, vp&255),
		fmt.Sprintf("EPRT |1|127.0.0.2|%d|", vp),
		fmt.Sprintf("EPRT |2|::ffff:127.0.0.2|%d|", vp),
		"EPRT |2|::1|50000|",
		"EPRT |1|127.0.0.1|21|",
		"EPRT |1|127.0.0.1|0|",
		"PORT 0,0,0,0,200,10",
		"PORT 255,255,255,255,200,10",
	} {
		c.Must(line, 504)
	}
	code, text := c.Cmd("RETR f")
	mustCode(t, "RETR without an accepted target", code, text, 425)
	_ = victim.(*net.TCPListener).SetDeadline(time.Now().Add(500 * time.Millisecond))
	if v, err := victim.Accept(); err == nil {
		_ = v.Close()
		t.Fatal("the server connected to a third-party address")
	}

	// 100 connections from 127.0.0.2 race for the PASV port before the client.
	text = c.Must("PASV", 227)
	var h1, h2, h3, h4, p1, p2 int
	if _, err := fmt.Sscanf(text[strings.IndexByte(text, '(')+1:], "%d,%d,%d,%d,%d,%d", &h1, &h2, &h3, &h4, &p1, &p2); err != nil {
		t.Fatalf("PASV reply %q: %v", text, err)
	}
	addr := fmt.Sprintf("%d.%d.%d.%d:%d", h1, h2, h3, h4, p1<<8|p2)
	var intruders []net.Conn
	for range 100 {
		intruders = append(intruders, dialRawFrom(t, "127.0.0.2", addr))
	}
	c.Must("RETR f", 150)
	d := dialRawFrom(t, "127.0.0.1", addr)
	_ = d.SetDeadline(time.Now().Add(30 * time.Second))
	tc := tls.Client(d, c.TLS)
	got, err := io.ReadAll(tc)
	if err != nil {
		t.Fatal(err)
	}
	c.Reply(226)
	if string(got) != "mine" {
		t.Fatalf("got %q", got)
	}
	for _, in := range intruders {
		if got := readUntilClosed(t, in, time.Now().Add(10*time.Second)); got != "" {
			t.Fatalf("an intruder got %q", got)
		}
	}
}

// passiveHeldBy is how many unconnected passive listeners ip holds.
func (s *Server) passiveHeldBy(ip netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passiveHeld[ip]
}
