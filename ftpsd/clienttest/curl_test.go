package clienttest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

func curlArgs(e *env, tlsMax string) []string {
	return []string{"-sS", "--ssl-reqd", "--cacert", e.caFile, "--tlsv1.2", "--tls-max", tlsMax,
		"--connect-timeout", "10", "--max-time", "50", "-u", user + ":" + password}
}

// curlRoundTrip uploads and downloads with curl and compares checksums.
func curlRoundTrip(t *testing.T, e *env, tlsMax string) {
	t.Helper()
	curl := need(t, "curl", "curl")
	local := filepath.Join(e.work, "up.bin")
	writeRandom(t, local, 2<<20+3)
	url := "ftp://" + e.addr + "/dir/up.bin"
	out, err := run(t, e.work, curl, append(curlArgs(e, tlsMax), "--ftp-create-dirs", "-T", local, url)...)
	if err != nil {
		t.Fatalf("curl upload (TLS max %s): %v\n%s", tlsMax, err, out)
	}
	if sum(t, filepath.Join(e.home, "dir", "up.bin")) != sum(t, local) {
		t.Fatal("uploaded file differs on disk")
	}
	down := filepath.Join(e.work, "down.bin")
	out, err = run(t, e.work, curl, append(curlArgs(e, tlsMax), "-o", down, url)...)
	if err != nil {
		t.Fatalf("curl download: %v\n%s", err, out)
	}
	if sum(t, down) != sum(t, local) {
		t.Fatal("downloaded file differs")
	}
	out, err = run(t, e.work, curl, append(curlArgs(e, tlsMax), "ftp://"+e.addr+"/dir/")...)
	if err != nil || !strings.Contains(out, "up.bin") {
		t.Fatalf("curl listing: %v\n%s", err, out)
	}
}

// TLS 1.3: curl resumes the control connection's session on the data
// connection, so the default policy (sessionReuse: Required) works.
func TestCurlTLS13(t *testing.T) {
	curlRoundTrip(t, start(t, nil), "1.3")
}

// TLS 1.2: curl resumes TLS 1.2 sessions by session ID only (it switches
// session tickets off), and crypto/tls resumes by ticket only. Under the
// default policy the data connection is therefore refused with 522 and
// nothing is written; with sessionReuse: Optional the transfer works.
func TestCurlTLS12(t *testing.T) {
	curl := need(t, "curl", "curl")
	e := start(t, nil)
	local := filepath.Join(e.work, "up.bin")
	writeRandom(t, local, 1000)
	out, err := run(t, e.work, curl, append(curlArgs(e, "1.2"), "-T", local, "ftp://"+e.addr+"/up.bin")...)
	if err == nil {
		// A curl that keeps session tickets resumes: fine too.
		if sum(t, filepath.Join(e.home, "up.bin")) != sum(t, local) {
			t.Fatal("uploaded file differs")
		}
	} else if exists(filepath.Join(e.home, "up.bin")) {
		t.Fatalf("refused upload created a file: %v\n%s", err, out)
	} else {
		// curl 7.88 reports the refused data handshake as "Bad PASV/EPSV
		// response: 150"; the server's 522 is asserted by the Go tests.
		t.Logf("curl did not resume the TLS 1.2 session, refused as documented: %s", out)
	}
	curlRoundTrip(t, start(t, func(c *config.Config) { c.Policy.Data.SessionReuse = config.SessionReuseOptional }), "1.2")
}

// Implicit FTPS (ftps://): TLS from the first byte.
func TestCurlImplicit(t *testing.T) {
	curl := need(t, "curl", "curl")
	e := startServer(t, nil, true)
	local := filepath.Join(e.work, "up.bin")
	writeRandom(t, local, 300000)
	url := "ftps://" + e.addr + "/up.bin"
	out, err := run(t, e.work, curl, append(curlArgs(e, "1.3"), "-T", local, url)...)
	if err != nil {
		t.Fatalf("curl implicit upload: %v\n%s", err, out)
	}
	down := filepath.Join(e.work, "down.bin")
	out, err = run(t, e.work, curl, append(curlArgs(e, "1.3"), "-o", down, url)...)
	if err != nil || sum(t, down) != sum(t, local) || sum(t, filepath.Join(e.home, "up.bin")) != sum(t, local) {
		t.Fatalf("curl implicit download: %v\n%s", err, out)
	}
}
