package clienttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func python(t *testing.T, e *env, mode, tlsMax string) (string, error) {
	t.Helper()
	py := need(t, "python3", "python3")
	script, err := filepath.Abs(filepath.Join("testdata", "ftplib_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	return run(t, e.work, py, script, e.host, e.port, user, password, e.caFile, mode, tlsMax,
		filepath.Join(e.work, "up.bin"), filepath.Join(e.work, "down.bin"))
}

// ftplib with a data connection that resumes the control session
// (session=self.sock.session) works under the default policy.
func TestFtplibSessionReuse(t *testing.T) {
	for _, v := range []string{"1.2", "1.3"} {
		t.Run("TLS"+v, func(t *testing.T) {
			e := start(t, nil)
			writeRandom(t, filepath.Join(e.work, "up.bin"), 1<<20+5)
			out, err := python(t, e, "reuse", v)
			if err != nil {
				t.Fatalf("ftplib: %v\n%s", err, out)
			}
			if !strings.Contains(out, "control TLSv"+v) {
				t.Fatalf("not TLS %s:\n%s", v, out)
			}
			if sum(t, filepath.Join(e.home, "up.bin")) != sum(t, filepath.Join(e.work, "up.bin")) ||
				sum(t, filepath.Join(e.work, "down.bin")) != sum(t, filepath.Join(e.work, "up.bin")) {
				t.Fatalf("checksums differ:\n%s", out)
			}
		})
	}
}

// Stock FTP_TLS does not resume the session: 522, and no file is created.
func TestFtplibWithoutReuseGets522(t *testing.T) {
	e := start(t, nil)
	writeRandom(t, filepath.Join(e.work, "up.bin"), 1000)
	out, err := python(t, e, "plain", "1.3")
	if err == nil || !strings.Contains(out, "data TLS refused") || !strings.Contains(out, "reply: 522") {
		t.Fatalf("want a 522, got %v\n%s", err, out)
	}
	ents, _ := os.ReadDir(e.home)
	if len(ents) != 0 {
		t.Fatalf("files created: %v", ents)
	}
}
