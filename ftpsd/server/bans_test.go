package server

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/metrics"
)

// fakeClock is the bans' clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dialFrom connects from a given loopback address (127.0.0.0/8 all reach
// the server's 127.0.0.1) and returns the greeting line.
func (e *testEnv) dialFrom(t *testing.T, local string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	raw, err := d.Dial("tcp", e.addr)
	if err != nil {
		t.Fatalf("cannot dial from %s: %v (the tests need the whole 127.0.0.0/8 on loopback)", local, err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufioReadLine(raw)
	return raw, line
}

func TestLoginDelaySchedule(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := loginDelay(defaultLoginDelay, defaultMaxLoginDelay, i+1); got != w {
			t.Errorf("failure %d: delay %s, want %s", i+1, got, w)
		}
	}
	if got := loginDelay(-1, time.Second, 3); got != 0 {
		t.Errorf("delay off: %s", got)
	}
}

// A failed login's delay holds that session only: while one client waits
// for its 530, another logs in and transfers.
func TestLoginDelayHoldsOnlyItsSession(t *testing.T) {
	e := newEnv(t, envOpt{loginDelay: time.Hour})
	slow := e.dial(false)
	slow.AuthTLS()
	slow.Must("USER "+testUser, 331)
	slow.Send("PASS wrong") // answered in an hour, or when the server stops
	c := e.dial(false)
	c.secure()
	_, code, text := c.Transfer("STOR f", []byte("while another waits"), true)
	mustCode(t, "STOR", code, text, 226)
	if b, err := e.readFile("f"); err != nil || string(b) != "while another waits" {
		t.Fatalf("file: %q %v", b, err)
	}
}

// limits.maxLoginFailures within limits.banDuration from one address bans
// it for limits.banDuration: 421 at connect. Other addresses are not
// affected, and the ban expires.
func TestBanAfterLoginFailures(t *testing.T) {
	clock := newFakeClock()
	m := metrics.New()
	e := newEnv(t, envOpt{now: clock.Now, metrics: m, mutate: func(c *config.Config) {
		c.Limits.MaxLoginFailures = 3
		c.Limits.BanDuration.Duration = 10 * time.Minute
	}})
	// Two failures, then the client reconnects (as scripts do).
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong1", 530)
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong2", 530)
	c.Must("QUIT", 221)
	c2 := e.dial(false)
	c2.AuthTLS()
	c2.Must("USER "+testUser, 331)
	if text := c2.Must("PASS wrong3", 421); !strings.Contains(text, "login failures") {
		t.Fatalf("third failure: %q", text)
	}
	// Banned: 421 at connect, before any command.
	_, line := e.dialFrom(t, "127.0.0.1")
	if !strings.HasPrefix(line, "421 ") || !strings.Contains(line, "banned") {
		t.Fatalf("banned client greeted with %q", line)
	}
	// Another address is not banned.
	_, line = e.dialFrom(t, "127.0.0.2")
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("another address greeted with %q", line)
	}
	// The ban expires.
	clock.Advance(10*time.Minute + time.Second)
	c3 := e.dial(false)
	c3.secure()
	c3.Must("NOOP", 200)

	expectMetrics(t, m, "ftpsd_bans_total 1", `ftpsd_sessions_refused_total{reason="banned"} 1`)
}

// Failures older than the window do not count towards a ban.
func TestBanWindow(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOpt{now: clock.Now, mutate: func(c *config.Config) {
		c.Limits.MaxLoginFailures = 2
		c.Limits.BanDuration.Duration = time.Minute
	}})
	for i := range 3 {
		c := e.dial(false)
		c.AuthTLS()
		c.Must("USER "+testUser, 331)
		c.Must("PASS wrong", 530)
		c.Must("QUIT", 221)
		clock.Advance(time.Minute + time.Duration(i)*time.Second)
	}
	e.dial(false).Must("NOOP", 200)
}

// The per-session limit: limits.maxLoginFailures failures on one connection
// close it with 421.
func TestLoginFailuresPerSession(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) { c.Limits.MaxLoginFailures = 2 }})
	c := e.dial(false)
	c.AuthTLS()
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong", 530)
	c.Must("USER "+testUser, 331)
	c.Must("PASS wrong", 421)
	if _, err := c.R.ReadString('\n'); err == nil {
		t.Fatal("session still open after 421")
	}
}

// limits.maxSessions: the session past the limit, from any address, gets
// 421 at connect; a slot freed is usable again.
func TestMaxSessionsGlobal(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Limits.MaxSessions = 2
		c.Limits.MaxSessionsPerIP = 100
	}})
	a := e.dial(false)
	_, line := e.dialFrom(t, "127.0.0.2")
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("second session: %q", line)
	}
	_, line = e.dialFrom(t, "127.0.0.3")
	if !strings.HasPrefix(line, "421 ") || !strings.Contains(line, "Too many sessions") {
		t.Fatalf("third session: %q", line)
	}
	a.Must("QUIT", 221)
	// The slot is freed once the server has seen the session end; wait for
	// it without a timing assertion (bounded, then fail).
	for i := 0; ; i++ {
		raw, line := e.dialFrom(t, "127.0.0.4")
		_ = raw.Close()
		if strings.HasPrefix(line, "220 ") {
			break
		}
		if i == 200 {
			t.Fatalf("slot not freed: %q", line)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
