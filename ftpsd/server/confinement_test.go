package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// snapshot is every path under dir with its content (folders as "/").
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			out[rel] = "/"
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every way out of a home that clients try: "..", absolute paths, symbolic
// links planted inside the home (to a file and to a folder outside),
// backslashes, percent-encoding (FTP paths are not URL-encoded, so it is a
// plain name), a NUL byte, and a very long path. Each is refused or stays
// inside the home, for every command that takes a path; nothing outside the
// home is read, written, renamed or deleted, and the session goes on.
func TestConfinementTable(t *testing.T) {
	e := newEnv(t, envOpt{}) // every permission
	outside := filepath.Join(e.root, "bob")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	const secret = "bob's secret"
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	e.writeFile("mine", []byte("m"))
	for name, target := range map[string]string{"filelink": "../bob/secret", "dirlink": "../bob", "abslink": outside} {
		if err := os.Symlink(target, filepath.Join(e.home(), name)); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, outside)

	attempts := []string{
		"../bob/secret",
		"/../bob/secret",
		"../../../../../../etc/passwd",
		"/etc/passwd",
		outside + "/secret",
		"filelink",
		"dirlink/secret",
		"abslink/secret",
		`..\bob\secret`,
		"%2e%2e/bob/secret",
		"%2e%2e%2fbob%2fsecret",
		"sub/../../bob/secret",
		"./.././bob/secret",
		"x\x00/../../bob/secret",
		strings.Repeat("a/", 1500) + "../../bob/secret",
	}
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	for _, p := range attempts {
		show := strings.ReplaceAll(p, "\x00", `\0`)
		if len(show) > 60 {
			show = show[:60] + "..."
		}
		t.Run(show, func(t *testing.T) {
			// Reads: never the secret.
			for _, cmd := range []string{"SIZE", "MDTM", "MLST", "STAT", "CWD"} {
				code, text := c.Cmd(cmd + " " + p)
				if strings.Contains(text, secret) || (code < 400 && cmd != "STAT") {
					t.Errorf("%s %s: %d %q", cmd, show, code, text)
				}
				if cmd == "CWD" && code < 400 {
					c.Must("CWD /", 250)
				}
			}
			for _, cmd := range []string{"RETR", "LIST", "NLST", "MLSD"} {
				got, code, text := c.Transfer(cmd+" "+p, nil, true)
				if strings.Contains(string(got), secret) || strings.Contains(string(got), "secret") {
					t.Errorf("%s %s: %d, got %q", cmd, show, code, got)
				}
				if cmd == "RETR" && code == 226 {
					t.Errorf("RETR %s: 226 %q", show, text)
				}
			}
			// Writes: whatever the reply, nothing outside the home changes.
			c.Transfer("STOR "+p, []byte("overwritten"), true)
			c.Cmd("DELE " + p)
			c.Cmd("RMD " + p)
			c.Cmd("MKD " + p)
			if code, _ := c.Cmd("RNFR " + p); code == 350 {
				c.Cmd("RNTO stolen")
			}
			if code, _ := c.Cmd("RNFR mine"); code == 350 {
				c.Cmd("RNTO " + p)
			}
			// The session goes on.
			c.Must("NOOP", 200)
			if got := snapshot(t, outside); !equalMaps(got, before) {
				t.Fatalf("outside the home changed after %s:\nbefore %v\nafter  %v", show, keys(before), keys(got))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.root, "stolen")); err == nil {
		t.Error("a rename left a file in the server root")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
