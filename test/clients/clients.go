// Package clients runs real FTPS clients (curl, lftp, Python ftplib, and a
// small Go client) against the stack, for the end-to-end tests.
package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/testenv"
)

// WithHosts runs a client in a mount namespace of its own where /etc/hosts
// also names the test's host names, so that the client connects by name and
// checks the certificate against it, as it would against real DNS.
func WithHosts(t testing.TB, hosts map[string]string, timeout time.Duration, name string, args ...string) ([]byte, error) {
	t.Helper()
	base, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(base)
	for host, ip := range hosts {
		fmt.Fprintf(&b, "\n%s %s\n", ip, host)
	}
	f := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	script := `mount --bind "$0" /etc/hosts && exec "$@"`
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, f, name}, args...)...)
	return cmd.CombinedOutput()
}

// RandomFile writes n random bytes and returns the path and its SHA-256.
func RandomFile(t testing.TB, n int) (string, string) {
	t.Helper()
	data := make([]byte, n)
	_, _ = rand.Read(data)
	f := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return f, hex.EncodeToString(sum[:])
}

func SHA256File(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// FtplibResult is what testdata/ftps_client.py prints.
type FtplibResult struct {
	PASV     string `json:"pasv"`
	Serial   string `json:"serial"`
	Sent     string `json:"sent"`
	Received string `json:"received"`
}

// Ftplib uploads and downloads a file in one session with Python's ftplib,
// verifying the chain against caFile and the name against host.
func Ftplib(t testing.TB, hosts map[string]string, host, port, user, password, caFile, local, remote string) FtplibResult {
	t.Helper()
	script := filepath.Join(testenv.RepoRoot(), "test", "clients", "testdata", "ftps_client.py")
	out, err := WithHosts(t, hosts, time.Minute, "python3", script, host, port, user, password, caFile, local, remote)
	if err != nil {
		t.Fatalf("python ftplib: %v\n%s", err, out)
	}
	var r FtplibResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("python ftplib printed %q: %v", out, err)
	}
	return r
}
