package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

func anonEnv(t *testing.T, enabled bool, conn config.AnonymousConnection) *testEnv {
	t.Helper()
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Policy.Authentication.Anonymous = config.AnonymousPolicy{Enabled: enabled, Connection: conn}
		c.Policy.Data.Protection = config.ProtectionClientChoice
		if enabled && conn == config.AnonymousClearOnly {
			// As the FTPSPolicy CRD: ClearOnly needs requireTLS Optional.
			c.Policy.Control.RequireTLS = config.RequireTLSOptional
		}
		c.Anonymous.Home = "pub"
	}})
	if err := os.MkdirAll(filepath.Join(e.root, "pub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.root, "pub", "readme.txt"), []byte("public"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.writeFile("secret.txt", []byte("alice's"))
	return e
}

// Off by default: USER anonymous gets 530 with a text that says so.
func TestAnonymousDisabled(t *testing.T) {
	e := anonEnv(t, false, config.AnonymousAny)
	c := e.dial(false)
	c.AuthTLS()
	if text := c.Must("USER anonymous", 530); !strings.Contains(text, "not allowed") {
		t.Fatalf("USER anonymous: %q", text)
	}
	c.Must("PASS guest@example.com", 503)
	c.Must("USER ftp", 530)
	c.login()
}

// checkAnonymousReadOnly: an anonymous session lists and reads its home, and
// nothing else: no upload, delete, rename or folder lands on disk, and
// nothing outside the home is reachable.
func checkAnonymousReadOnly(t *testing.T, e *testEnv, c *client, protected bool) {
	t.Helper()
	pub := filepath.Join(e.root, "pub")
	got, code, text := c.Transfer("NLST", nil, protected)
	mustCode(t, "NLST", code, text, 226)
	if !strings.Contains(string(got), "readme.txt") {
		t.Fatalf("NLST: %q", got)
	}
	got, code, text = c.Transfer("RETR readme.txt", nil, protected)
	mustCode(t, "RETR", code, text, 226)
	if string(got) != "public" {
		t.Fatalf("RETR: %q", got)
	}
	c.Must("STOR upload.txt", 550)
	c.Must("APPE readme.txt", 550)
	c.Must("STOU", 550)
	c.Must("DELE readme.txt", 550)
	c.Must("MKD newdir", 550)
	c.Must("RNFR readme.txt", 550)
	c.Must("RETR ../alice/secret.txt", 550)
	c.Must("CWD ..", 250) // the home is the anonymous root
	if text := c.Must("PWD", 257); !strings.Contains(text, `"/"`) {
		t.Fatalf("PWD: %q", text)
	}
	names := listDirNames(t, pub)
	if len(names) != 1 || names[0] != "readme.txt" {
		t.Fatalf("the anonymous home changed: %v", names)
	}
	if b, err := os.ReadFile(filepath.Join(pub, "readme.txt")); err != nil || string(b) != "public" {
		t.Fatalf("readme.txt changed: %q %v", b, err)
	}
}

// connection: Any. Over TLS and in clear (USER anonymous is allowed in clear
// although requireTLS is Login: the policy names anonymous logins).
func TestAnonymousAny(t *testing.T) {
	e := anonEnv(t, true, config.AnonymousAny)
	c := e.dial(false)
	if text := c.Must("USER anonymous", 331); !strings.Contains(text, "e-mail") {
		t.Fatalf("USER anonymous: %q", text)
	}
	c.Must("PASS guest@example.com", 230)
	checkAnonymousReadOnly(t, e, c, false)

	c2 := e.dial(false)
	c2.AuthTLS()
	c2.Must("USER ftp", 331)
	c2.Must("PASS ", 230) // any password, even none
	c2.Must("PBSZ 0", 200)
	c2.Must("PROT P", 200)
	checkAnonymousReadOnly(t, e, c2, true)

	// Real users still need TLS under requireTLS: Login.
	c3 := e.dial(false)
	c3.Must("USER "+testUser, 530)
}

// connection: TLSOnly (the default): refused before AUTH TLS.
func TestAnonymousTLSOnly(t *testing.T) {
	e := anonEnv(t, true, config.AnonymousTLSOnly)
	c := e.dial(false)
	if text := c.Must("USER anonymous", 530); !strings.Contains(text, "only over TLS") {
		t.Fatalf("USER anonymous in clear: %q", text)
	}
	c.Must("PASS guest@example.com", 530)
	c.AuthTLS()
	c.Must("USER anonymous", 331)
	c.Must("PASS guest@example.com", 230)
	c.Must("PBSZ 0", 200)
	c.Must("PROT P", 200)
	checkAnonymousReadOnly(t, e, c, true)
}

// connection: ClearOnly: refused after AUTH TLS.
func TestAnonymousClearOnly(t *testing.T) {
	e := anonEnv(t, true, config.AnonymousClearOnly)
	c := e.dial(false)
	c.AuthTLS()
	if text := c.Must("USER anonymous", 530); !strings.Contains(text, "only without TLS") {
		t.Fatalf("USER anonymous over TLS: %q", text)
	}
	c2 := e.dial(false)
	c2.Must("USER anonymous", 331)
	c2.Must("PASS guest@example.com", 230)
	checkAnonymousReadOnly(t, e, c2, false)
}

func TestAnonymousConfigValidation(t *testing.T) {
	for _, home := range []string{"../escape", "/abs", `a\b`, "pub/../.."} {
		c := config.Default()
		c.Anonymous.Home = home
		if err := c.Validate(); err == nil {
			t.Errorf("anonymous.home %q accepted", home)
		}
	}
	c := config.Default()
	c.Policy.Authentication.Anonymous = config.AnonymousPolicy{Enabled: true, Connection: config.AnonymousClearOnly}
	c.Policy.Control.RequireTLS = config.RequireTLSAllCommands
	if err := c.Validate(); err == nil {
		t.Error("ClearOnly anonymous with requireTLS AllCommands accepted")
	}
	if d := config.Default(); d.Anonymous.Home != "anonymous" || d.Policy.Authentication.Anonymous.Enabled {
		t.Errorf("defaults: %+v %+v", d.Anonymous, d.Policy.Authentication.Anonymous)
	}
}
