package server

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// Sessions of one user share one open home root, which goes away with the
// last of them: an idle session costs one descriptor, and none leaks.
func TestHomeRootShared(t *testing.T) {
	e := newEnv(t, envOpt{})
	a, b := e.dial(false), e.dial(false)
	a.secure()
	b.secure()
	if n := e.srv.homes.count(); n != 1 {
		t.Fatalf("%d home roots open for two sessions of one user, want 1", n)
	}
	// Both still work on it.
	e.writeFile("f.txt", []byte("x"))
	for _, c := range []*client{a, b} {
		got, code, text := c.Transfer("RETR f.txt", nil, true)
		if code != 226 || string(got) != "x" {
			t.Fatalf("RETR: %d %q, %q", code, text, got)
		}
	}
	a.Must("QUIT", 221)
	b.Must("REIN", 220)
	waitHomes(t, e, 0)
}

func waitHomes(t *testing.T, e *testEnv, want int) {
	t.Helper()
	ftptest.Eventually(t, 5*time.Second, 10*time.Millisecond, fmt.Sprintf("%d home roots open", want), func() error {
		if n := e.srv.homes.count(); n != want {
			return fmt.Errorf("%d home roots open, want %d", n, want)
		}
		return nil
	})
}

// A home that cannot be opened after a right password is the server's
// failure, not the client's: 530, but no step towards a ban.
func TestHomeFailureIsNoLoginFailure(t *testing.T) {
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Limits.MaxLoginFailures = 2
		c.Limits.BanDuration.Duration = time.Hour
	}})
	// A file where the home folder should be.
	if err := os.WriteFile(e.home(), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		c := e.dial(false)
		c.AuthTLS()
		c.Must("USER "+testUser, 331)
		c.Must("PASS "+testPassword, 530)
		c.Must("QUIT", 221)
	}
	if err := os.Remove(e.home()); err != nil {
		t.Fatal(err)
	}
	c := e.dial(false) // a banned address would get 421 here
	c.secure()
	c.Must("NOOP", 200)
}
