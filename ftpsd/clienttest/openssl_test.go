package clienttest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TLS renegotiation asked by a TLS 1.2 client (openssl s_client, "R") is
// refused: the session ends at once, and the server goes on serving others.
func TestOpensslRenegotiationRefused(t *testing.T) {
	openssl := need(t, "openssl", "openssl")
	e := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", e.addr, "-starttls", "ftp",
		"-tls1_2", "-servername", "ftpsd.test", "-CAfile", e.caFile)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// s_client prints the session summary once the handshake is done.
	sc := bufio.NewScanner(stdout)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "SSL-Session:") {
			break
		}
	}
	if !strings.Contains(out.String(), "SSL-Session:") {
		t.Fatalf("no TLS session from openssl s_client:\n%s\n%s", out.String(), stderr.String())
	}
	_, _ = io.WriteString(stdin, "R\n")
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	_ = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("openssl s_client still running after renegotiation:\n%s\n%s", out.String(), stderr.String())
	}
	if !strings.Contains(stderr.String()+out.String(), "RENEGOTIATING") {
		t.Fatalf("openssl did not try to renegotiate:\n%s\n%s", out.String(), stderr.String())
	}
	t.Logf("openssl s_client stderr: %s", strings.TrimSpace(stderr.String()))
	curlRoundTrip(t, e, "1.3")
}
