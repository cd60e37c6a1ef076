package clienttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/server"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// curl with --cert/--key under clientCertificate: Sufficient: USER carol is
// answered 232 (logged in by the certificate, no PASS), and the transfer
// works. Under Required, curl without a certificate cannot even connect.
func TestCurlClientCertificate(t *testing.T) {
	curl := need(t, "curl", "curl")
	carol := ftptest.SelfSigned(t, ftptest.CertOptions{CommonName: "carol", Hosts: []string{"carol"}})
	pool := carol.Pool()
	carolUser := users.User{Username: "carol", Home: "carol", Permissions: users.AllPermissions,
		ClientCertificate: &users.ClientCertificate{SHA256Fingerprint: server.Fingerprint(carol.Leaf.Raw)}}
	for _, mode := range []config.ClientCertificateMode{config.ClientCertificateSufficient, config.ClientCertificateRequired} {
		t.Run(string(mode), func(t *testing.T) {
			e := startWith(t, serverOpts{
				mutate: func(c *config.Config) {
					c.Policy.Authentication.ClientCertificate = mode
					c.TLS.ClientCAFile = "in-memory"
				},
				clientCAs: pool,
				extra:     []users.User{carolUser},
			})
			certFile, keyFile, err := carol.WritePEM(e.work)
			if err != nil {
				t.Fatal(err)
			}
			local := filepath.Join(e.work, "up.bin")
			writeRandom(t, local, 100000)
			base := []string{"-sS", "-v", "--ssl-reqd", "--cacert", e.caFile, "--tlsv1.3",
				"--connect-timeout", "10", "--max-time", "50"}
			withCert := append(append([]string{}, base...), "--cert", certFile, "--key", keyFile)
			url := "ftp://" + e.addr + "/up.bin"
			if mode == config.ClientCertificateSufficient {
				// No password: the certificate is the credential.
				out, err := run(t, e.work, curl, append(withCert, "-u", "carol:", "-T", local, url)...)
				if err != nil {
					t.Fatalf("curl --cert upload: %v\n%s", err, out)
				}
				if !strings.Contains(out, "< 232 ") {
					t.Fatalf("no 232 reply to USER:\n%s", out)
				}
				if sum(t, filepath.Join(e.root, "carol", "up.bin")) != sum(t, local) {
					t.Fatal("uploaded file differs on disk")
				}
				return
			}
			// Required: with a certificate and a password, fine.
			out, err := run(t, e.work, curl, append(withCert, "-u", user+":"+password, "-T", local, url)...)
			if err != nil {
				t.Fatalf("curl --cert upload: %v\n%s", err, out)
			}
			if sum(t, filepath.Join(e.home, "up.bin")) != sum(t, local) {
				t.Fatal("uploaded file differs on disk")
			}
			// Without one, the handshake is refused and nothing is written.
			_ = os.Remove(filepath.Join(e.home, "up.bin"))
			out, err = run(t, e.work, curl, append(base, "-u", user+":"+password, "-T", local, url)...)
			if err == nil {
				t.Fatalf("curl without a certificate succeeded:\n%s", out)
			}
			if exists(filepath.Join(e.home, "up.bin")) {
				t.Fatal("a refused session wrote a file")
			}
		})
	}
}
