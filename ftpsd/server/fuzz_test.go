package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// FuzzParseCommand: the command parser never panics and returns an
// upper-case verb of at most 8 bytes.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER alice", "retr  file with spaces ", "\xff\xf4\xff\xf2ABOR", "", " ", "AUTH TLS"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		verb, _ := parseCommand(line)
		if len(verb) > 8 || verb != strings.ToUpper(verb) {
			t.Fatalf("verb %q", verb)
		}
	})
}

var replyLineRE = regexp.MustCompile(`^[1-5][0-9][0-9][ -]`)

func fuzzServer(f *testing.F) *Server {
	cert, err := testCert()
	if err != nil {
		f.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	db, err := users.NewDB([]users.User{{Username: testUser, PasswordHash: string(hash), Permissions: users.AllPermissions}})
	if err != nil {
		f.Fatal(err)
	}
	cfg := config.Default()
	cfg.Root = f.TempDir()
	// Clear logins and clear data, so that fuzzing reaches the deeper states.
	cfg.Policy.Control.RequireTLS = config.RequireTLSOptional
	cfg.Policy.Data.Protection = config.ProtectionClientChoice
	cfg.Policy.Control.CCC = config.CCCAllowAfterLogin
	cfg.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly
	cfg.Limits.DataTimeout.Duration = 30 * time.Millisecond
	cfg.Limits.LoginTimeout.Duration = 2 * time.Second
	cfg.Limits.IdleTimeout.Duration = 2 * time.Second
	cfg.Limits.MaxLoginFailures = 100
	cfg.Policy.Authentication.Anonymous = config.AnonymousPolicy{Enabled: true, Connection: config.AnonymousAny}
	srv, err := New(cfg, Options{
		TLSConfig:  &tls.Config{Certificates: []tls.Certificate{cert}},
		Users:      users.NewStore(db),
		Logger:     testLogger(),
		Ordinal:    -1,
		LoginDelay: -1,
	})
	if err != nil {
		f.Fatal(err)
	}
	return srv
}

// FuzzSession feeds a sequence of command lines to a session over net.Pipe
// and checks that it never panics and that every reply line is a valid
// reply (a 3-digit code 1xx-5xx, or a continuation line of a multi-line one).
func FuzzSession(f *testing.F) {
	srv := fuzzServer(f)
	f.Add([]byte("USER alice\r\nPASS correct horse\r\nPWD\r\nQUIT\r\n"))
	f.Fuzz(func(t *testing.T, script []byte) {
		lines := bytes.Split(script, []byte("\n"))
		if len(lines) > 40 {
			lines = lines[:40]
		}
		client, serverSide := net.Pipe()
		deadline := time.Now().Add(10 * time.Second)
		_ = client.SetDeadline(deadline)
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeConn(serverSide, false)
		}()
		replies := make(chan error, 1)
		go func() {
			r := bufio.NewReader(client)
			multi := ""
			for range 100000 {
				line, err := r.ReadString('\n')
				if err != nil {
					replies <- nil
					return
				}
				line = strings.TrimRight(line, "\r\n")
				if multi != "" {
					if strings.HasPrefix(line, multi+" ") {
						multi = ""
					}
					continue
				}
				if !replyLineRE.MatchString(line) {
					replies <- &badReply{line}
					return
				}
				if line[3] == '-' {
					multi = line[:3]
				}
			}
			replies <- nil
		}()
		for _, l := range lines {
			if time.Now().After(deadline.Add(-5 * time.Second)) {
				t.Fatalf("writing the script took too long")
			}
			if _, err := client.Write(append(bytes.TrimRight(l, "\r"), '\r', '\n')); err != nil {
				break
			}
			if bytes.HasPrefix(bytes.ToUpper(bytes.TrimSpace(l)), []byte("AUTH")) {
				break // the rest would be a TLS handshake
			}
		}
		// Let the replies drain, then end the session.
		time.Sleep(5 * time.Millisecond)
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the session did not end after its connection closed")
		}
		if err := <-replies; err != nil {
			t.Fatal(err)
		}
	})
}

type badReply struct{ line string }

func (b *badReply) Error() string { return "invalid reply line " + b.line }
