package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ftpsv1alpha1 "github.com/ftps-operator/ftps-operator/api/v1alpha1"
	"github.com/ftps-operator/ftps-operator/internal/testenv"
	"github.com/ftps-operator/ftps-operator/test/clients"
)

// The sample's user, from config/samples/ftps_v1alpha1_ftpsuser.yaml.
const sampleUser, samplePassword, sampleHost = "alice", "change-me-to-something-long", "ftps.example.com"

// applySamples applies config/samples into a new namespace and waits for
// the sample server; it returns the namespace, the server, the control
// address and the CA file that signed the server's certificate.
//
// edits replace text in the sample files before they are applied.
func applySamples(t *testing.T, edits ...string) (string, *ftpsv1alpha1.FTPSServer, string, string, string) {
	t.Helper()
	ctx := context.Background()
	ns := st.NewNamespace(t)
	files, err := testenv.SampleFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.NewReplacer(edits...).Replace(string(data))
		edited := filepath.Join(t.TempDir(), filepath.Base(f))
		if err := os.WriteFile(edited, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ApplyFile(ctx, ns, edited); err != nil {
			t.Fatal(err)
		}
	}
	srv := st.WaitServerReady(t, ns, "exchange", 3*time.Minute)
	host, port, err := net.SplitHostPort(srv.Status.Endpoint)
	if err != nil {
		t.Fatalf("status.endpoint %q: %v", srv.Status.Endpoint, err)
	}
	ca := &corev1.Secret{}
	if err := st.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ftps-ca"}, ca); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, ca.Data["ca.crt"], 0o600); err != nil {
		t.Fatal(err)
	}
	return ns, srv, host, port, caFile
}

// Scenario 1: the samples make a Ready server; curl, lftp and Python's
// ftplib log in through the control address, verify the chain and the host
// name, and move files intact.
func TestSamplesServeRealClients(t *testing.T) {
	_, srv, host, port, caFile := applySamples(t)
	hosts := map[string]string{sampleHost: host}
	local, sum := clients.RandomFile(t, 3<<20)

	t.Run("ftplib", func(t *testing.T) {
		r := clients.Ftplib(t, hosts, sampleHost, port, sampleUser, samplePassword, caFile, local, "ftplib.bin")
		if r.Sent != sum || r.Received != sum {
			t.Fatalf("checksums: sent %s, received %s, want %s", r.Sent, r.Received, sum)
		}
	})

	t.Run("curl", func(t *testing.T) {
		down := filepath.Join(t.TempDir(), "down.bin")
		url := "ftp://" + sampleHost + ":" + port + "/curl.bin"
		common := []string{"-sS", "--max-time", "60", "--cacert", caFile, "--ssl-reqd", "--disable-epsv", "--no-ftp-skip-pasv-ip",
			"-u", sampleUser + ":" + samplePassword}
		// One invocation, one control connection: the upload and the
		// download reach the same replica.
		args := append(append(append([]string{}, common...), "-T", local, url, "--next"), common...)
		args = append(args, "-o", down, url)
		if out, err := clients.WithHosts(t, hosts, 2*time.Minute, "curl", args...); err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		if got := clients.SHA256File(t, down); got != sum {
			t.Fatalf("curl downloaded %s, want %s", got, sum)
		}
	})

	// lftp takes any 127.x address but 127.0.0.1 for a broken PASV reply and
	// replaces it with the control connection's address, so here, where every
	// address is a loopback one, it talks to replica 0's own address (the
	// ftpsd container port), where PASV names that same address. On a real
	// network it goes through the control Service like the others.
	t.Run("lftp", func(t *testing.T) {
		down := filepath.Join(t.TempDir(), "down.bin")
		if len(srv.Status.Passive) == 0 {
			t.Fatal("status.passive is empty")
		}
		hosts := map[string]string{sampleHost: srv.Status.Passive[0].Address}
		port := "2121"
		script := strings.Join([]string{
			"set ssl:ca-file " + caFile,
			"set ssl:verify-certificate yes",
			"set ssl:check-hostname yes",
			"set ftp:ssl-force true",
			"set ftp:ssl-protect-data true",
			"set ftp:prefer-epsv false",

			"set net:max-retries 1",
			"set net:timeout 20",
			"open -u " + sampleUser + "," + samplePassword + " ftp://" + sampleHost + ":" + port,
			"put " + local + " -o lftp.bin",
			"get lftp.bin -o " + down,
			"bye",
		}, "; ")
		if out, err := clients.WithHosts(t, hosts, 2*time.Minute, "lftp", "-c", script); err != nil {
			t.Fatalf("lftp: %v\n%s", err, out)
		}
		if got := clients.SHA256File(t, down); got != sum {
			t.Fatalf("lftp downloaded %s, want %s", got, sum)
		}
	})

	t.Run("wrong host name is refused", func(t *testing.T) {
		out, err := clients.WithHosts(t, map[string]string{"other.example.com": host}, time.Minute, "curl", "-sS", "--max-time", "20",
			"--cacert", caFile, "--ssl-reqd", "-u", sampleUser+":"+samplePassword, "ftp://other.example.com:"+port+"/")
		// curl's exit code 60: the peer's certificate failed verification.
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 60 {
			t.Fatalf("want curl to refuse the certificate (exit 60), got %v\n%s", err, out)
		}
	})
}

var pasvReply = regexp.MustCompile(`\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)

// Scenario 2: PASV and EPSV on replica i answer with replica i's address and a
// port of its own range, and transfers work on both replicas.
func TestPassivePerReplica(t *testing.T) {
	_, srv, host, port, caFile := applySamples(t)
	if len(srv.Status.Passive) != 2 {
		t.Fatalf("status.passive: %+v, want 2 replicas", srv.Status.Passive)
	}
	hosts := map[string]string{sampleHost: host}
	local, sum := clients.RandomFile(t, 256<<10)
	seen := map[int32]bool{}
	// The control Service spreads sessions over the replicas; a few
	// sessions reach both.
	for i := 0; i < 8 && len(seen) < 2; i++ {
		r := clients.Ftplib(t, hosts, sampleHost, port, sampleUser, samplePassword, caFile, local, "pasv.bin")
		if r.Received != sum {
			t.Fatalf("session %d: received %s, want %s", i, r.Received, sum)
		}
		m := pasvReply.FindStringSubmatch(r.PASV)
		if m == nil {
			t.Fatalf("PASV reply %q", r.PASV)
		}
		addr := strings.Join(m[1:5], ".")
		hi, _ := strconv.Atoi(m[5])
		lo, _ := strconv.Atoi(m[6])
		p := hi*256 + lo
		var matched bool
		for _, rep := range srv.Status.Passive {
			if rep.Address != addr {
				continue
			}
			first, last := parseRange(t, rep.PortRange)
			if p < first || p > last {
				t.Errorf("replica %d answered PASV with port %d outside its range %s", rep.Replica, p, rep.PortRange)
			}
			seen[rep.Replica], matched = true, true
		}
		if !matched {
			t.Errorf("PASV address %s is no replica's (status.passive %+v)", addr, srv.Status.Passive)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("8 sessions reached replicas %v only", seen)
	}

	// EPSV names only a port (RFC 2428); it must be one of the answering
	// replica's, found here from the same session's PASV address.
	epsvSeen := map[int32]bool{}
	for i := 0; i < 8 && len(epsvSeen) < 2; i++ {
		c, _ := clients.Open(t, net.JoinHostPort(host, port), sampleHost, caFile)
		if code := clients.LoginCode(c, sampleUser, samplePassword); code != 230 {
			t.Fatalf("login: %d", code)
		}
		m := pasvReply.FindStringSubmatch(c.Must("PASV", 227))
		epsv := c.Must("EPSV", 229)
		_ = c.Raw.Close()
		from, to := strings.Index(epsv, "(|||"), strings.LastIndex(epsv, "|)")
		if m == nil || from < 0 || to < from {
			t.Fatalf("PASV/EPSV replies %v / %q", m, epsv)
		}
		p, err := strconv.Atoi(epsv[from+4 : to])
		if err != nil {
			t.Fatalf("EPSV reply %q", epsv)
		}
		for _, rep := range srv.Status.Passive {
			if rep.Address != strings.Join(m[1:5], ".") {
				continue
			}
			first, last := parseRange(t, rep.PortRange)
			if p < first || p > last {
				t.Errorf("replica %d answered EPSV with port %d outside its range %s", rep.Replica, p, rep.PortRange)
			}
			epsvSeen[rep.Replica] = true
		}
	}
	if len(epsvSeen) != 2 {
		t.Fatalf("EPSV: 8 sessions reached replicas %v only", epsvSeen)
	}
}

func parseRange(t *testing.T, r string) (int, int) {
	t.Helper()
	a, b, ok := strings.Cut(r, "-")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("port range %q", r)
	}
	return first, last
}
