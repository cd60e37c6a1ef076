// Command ftpsd is the FTPS server of ftps-operator. It runs in the
// operator's pods and on its own:
//
//	ftpsd                      demo mode: ./ftp-data on 127.0.0.1:2121, self-signed
//	                           certificate, a demo user with a printed password
//	ftpsd --config ftpsd.yaml  the file the operator renders (docs/ftpsd.md)
//	ftpsd hash-password        reads a password on stdin, prints a bcrypt hash
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/reload"
	"github.com/ftps-operator/ftps-operator/ftpsd/server"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hash-password" {
		if err := hashPassword(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "ftpsd hash-password:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ftpsd:", err)
		os.Exit(1)
	}
}

// hashPassword reads one line (the password) and prints its bcrypt hash.
func hashPassword(in io.Reader, out io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("empty password on stdin")
	}
	h, err := users.HashPassword(pw)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, h)
	return err
}

type flags struct {
	config, listen, implicitListen, root, usersFile string
	cert, key, clientCA                             string
	passivePorts, passiveAddress, logLevel          string
	gracePeriod, reloadInterval                     time.Duration
	credentialCache, syncUploads                    bool
}

func parseFlags(args []string) (*flags, map[string]bool, error) {
	f := &flags{}
	fs := flag.NewFlagSet("ftpsd", flag.ContinueOnError)
	fs.StringVar(&f.config, "config", "", "ftpsd.yaml to read; without it (and without --users-file) ftpsd runs in demo mode")
	fs.StringVar(&f.listen, "listen", "", "explicit FTPS control listener (AUTH TLS), host:port")
	fs.StringVar(&f.implicitListen, "implicit-listen", "", "implicit FTPS listener, host:port (off when empty)")
	fs.StringVar(&f.root, "root", "", "storage root")
	fs.StringVar(&f.usersFile, "users-file", "", "users.yaml")
	fs.StringVar(&f.cert, "cert", "", "TLS certificate file (PEM)")
	fs.StringVar(&f.key, "key", "", "TLS private key file (PEM)")
	fs.StringVar(&f.clientCA, "client-ca", "", "CA file for client certificates (PEM)")
	fs.StringVar(&f.passivePorts, "passive-ports", "", "passive port range, first-last")
	fs.StringVar(&f.passiveAddress, "passive-address", "", "address advertised in PASV replies")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.gracePeriod, "grace-period", 25*time.Second, "on SIGTERM, how long running transfers may finish before their sessions are closed")
	fs.DurationVar(&f.gracePeriod, "shutdown-timeout", 25*time.Second, "deprecated name of --grace-period")
	fs.BoolVar(&f.credentialCache, "credential-cache", true, "keep an HMAC of verified credentials so that repeated logins skip the password hash (config credentialCache); false verifies the hash on every login")
	fs.BoolVar(&f.syncUploads, "sync-uploads", true, "fsync each upload before its 226 reply (config syncUploads)")
	fs.DurationVar(&f.reloadInterval, "reload-interval", reload.DefaultPollInterval, "how often the config, users and certificate files are re-read even without a file event")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q (subcommand: hash-password)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return f, set, nil
}

// applyFlags writes the flags given on the command line over cfg (at start
// and again on each reload of the config file).
func applyFlags(cfg *config.Config, f *flags, set map[string]bool) {
	overrides := map[string]*string{
		"listen": &cfg.Listen, "implicit-listen": &cfg.ImplicitListen, "root": &cfg.Root,
		"users-file": &cfg.UsersFile, "cert": &cfg.TLS.CertFile, "key": &cfg.TLS.KeyFile,
		"client-ca": &cfg.TLS.ClientCAFile, "passive-ports": &cfg.Passive.PortRange,
		"passive-address": &cfg.Passive.Address,
	}
	values := map[string]string{
		"listen": f.listen, "implicit-listen": f.implicitListen, "root": f.root, "users-file": f.usersFile,
		"cert": f.cert, "key": f.key, "client-ca": f.clientCA, "passive-ports": f.passivePorts,
		"passive-address": f.passiveAddress,
	}
	for name, dst := range overrides {
		if set[name] {
			*dst = values[name]
		}
	}
	if set["credential-cache"] {
		v := f.credentialCache
		cfg.CredentialCache = &v
	}
	if set["sync-uploads"] {
		v := f.syncUploads
		cfg.SyncUploads = &v
	}
}

func run(args []string, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := newApp(args, out, os.Stderr)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				a.reloadNow()
			case <-ctx.Done():
				return
			}
		}
	}()
	return a.run(ctx)
}

// loadTLS serves the certificate of certs (reloaded when its files change),
// or makes a self-signed certificate in memory when none is configured (and
// prints its fingerprint).
func loadTLS(cfg *config.Config, certs *reload.CertificateSource, out io.Writer) (*tls.Config, error) {
	conf := &tls.Config{}
	if certs != nil {
		conf.GetCertificate = certs.GetCertificate
	} else {
		cert, err := server.SelfSignedCertificate([]string{"localhost", "127.0.0.1", "::1"}, 365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{cert}
		fmt.Fprintf(out, "ftpsd: self-signed certificate, SHA-256 fingerprint %s\n", server.Fingerprint(cert.Certificate[0]))
	}
	if cfg.TLS.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.clientCAFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.clientCAFile: no PEM certificate in %s", cfg.TLS.ClientCAFile)
		}
		conf.ClientCAs = pool
	}
	return conf, nil
}

// demoUsers makes the demo user, whose home is the storage root, with a
// random password printed once (never logged).
func demoUsers(out io.Writer) (*users.Store, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	pw := base64.RawURLEncoding.EncodeToString(b[:])
	h, err := users.HashPassword(pw)
	if err != nil {
		return nil, err
	}
	db, err := users.NewDB([]users.User{{Username: "demo", PasswordHash: h, Home: ".", Permissions: users.AllPermissions}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "ftpsd demo login: user demo, password %s (shown once)\n", pw)
	return users.NewStore(db), nil
}
