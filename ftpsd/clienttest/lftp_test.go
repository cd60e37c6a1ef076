package clienttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func lftpScript(e *env, body string) string {
	return fmt.Sprintf(`set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-allow true;
set ssl:ca-file %s; set ssl:check-hostname no; set ssl:verify-certificate yes;
set net:max-retries 1; set net:timeout 15; set net:reconnect-interval-base 1; set cmd:fail-exit true;
open -u %s,%s -p %s %s; %s`, e.caFile, user, password, e.port, e.host, body)
}

// lftp mirrors a tree up and down over PROT P (GnuTLS, session reuse).
func TestLftpMirror(t *testing.T) {
	lftp := need(t, "lftp", "lftp")
	for _, v := range []string{"1.2", "1.3"} {
		t.Run("TLS"+v, func(t *testing.T) {
			e := start(t, nil)
			src := filepath.Join(e.work, "tree")
			files := []string{"a.txt", "sub/b.bin", "sub/deeper/c.bin", "empty/.keep"}
			for i, f := range files {
				writeRandom(t, filepath.Join(src, f), 1000*(i+1)*(i+1)*37)
			}
			prio := "NORMAL:-VERS-ALL:+VERS-TLS1.2"
			if v == "1.3" {
				prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
			}
			script := fmt.Sprintf("set ssl:priority %s; mirror -R %s /up; mirror /up %s", prio, src, filepath.Join(e.work, "back"))
			out, err := run(t, e.work, lftp, "-c", lftpScript(e, script))
			if err != nil {
				t.Fatalf("lftp: %v\n%s", err, out)
			}
			for _, f := range files {
				want := sum(t, filepath.Join(src, f))
				if got := sum(t, filepath.Join(e.home, "up", f)); got != want {
					t.Errorf("%s differs on the server", f)
				}
				if got := sum(t, filepath.Join(e.work, "back", f)); got != want {
					t.Errorf("%s differs after mirroring back", f)
				}
			}
			out, err = run(t, e.work, lftp, "-c", lftpScript(e, fmt.Sprintf("set ssl:priority %s; cls -l /up/sub", prio)))
			if err != nil || !strings.Contains(out, "b.bin") {
				t.Fatalf("lftp cls: %v\n%s", err, out)
			}
		})
	}
}

var _ = os.Stat
