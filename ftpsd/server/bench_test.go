package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// Micro-benchmarks of ftpsd's hot paths. The end-to-end ones run a real
// server and client over loopback TCP (and TLS under PROT P) in this process,
// so the client's cost is in the figures too, as it is with a real client on
// the same machine. Besides wall time they report cpu-ns/op, the CPU time of
// the whole process per operation, which other load on the machine disturbs
// far less. Compare runs with benchstat, never single timings.

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if n := b.N; n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}

func BenchmarkParseCommand(b *testing.B) {
	lines := []string{"USER alice", "PASS correct horse", "PBSZ 0", "PROT P", "EPSV", "RETR dir/file.bin", "TYPE I", "QUIT"}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			verb, arg := parseCommand(l)
			if verb == "" {
				b.Fatal(verb, arg)
			}
		}
	}
}

// makeListDir writes n empty files into dir.
func makeListDir(tb testing.TB, dir string, n int) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.bin", i)), make([]byte, 4096), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkListing formats a listing of 1000 files into a buffered writer:
// directory read, per-entry metadata and formatting, without the network.
func BenchmarkListing(b *testing.B) {
	dir := b.TempDir()
	makeListDir(b, filepath.Join(dir, "small"), 1000)
	home, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer home.Close()
	u := &users.User{Username: "alice", Permissions: users.AllPermissions}
	for _, kind := range []string{"LIST", "MLSD"} {
		b.Run(kind, func(b *testing.B) {
			w := bufio.NewWriterSize(io.Discard, 32<<10)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if err := writeListing(w, home, "small", kind, u, time.Now()); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// benchSession returns a logged-in client with PROT P (or PROT C when
// clear) against a fresh server.
func benchSession(b *testing.B, clear bool, mutate func(*config.Config)) (*testEnv, *client) {
	b.Helper()
	env := newEnv(b, envOpt{mutate: func(c *config.Config) {
		c.Limits.DataTimeout.Duration = 30 * time.Second
		if clear {
			c.Policy.Data.Protection = config.ProtectionClientChoice
		}
		if mutate != nil {
			mutate(c)
		}
	}})
	c := env.dial(false)
	c.AuthTLS()
	c.login()
	c.Must("PBSZ 0", 200)
	if clear {
		c.Must("PROT C", 200)
	} else {
		c.Must("PROT P", 200)
	}
	c.Must("TYPE I", 200)
	return env, c
}

// dataCmd runs one data command: upload (when not nil) is sent, anything
// received is discarded; it returns the bytes received.
func (c *client) dataCmd(command string, upload io.Reader, protected bool) int64 {
	c.T.Helper()
	d := c.DialData(c.EPSV())
	c.Must(command, 150)
	dc := d
	if protected {
		tc := tls.Client(d, c.TLS)
		if err := tc.Handshake(); err != nil {
			c.T.Fatal(err)
		}
		dc = tc
	}
	var n int64
	var err error
	if upload != nil {
		if _, err = io.Copy(dc, upload); err != nil {
			c.T.Fatal(err)
		}
		if tc, ok := dc.(*tls.Conn); ok {
			_ = tc.CloseWrite()
		}
		_ = closeWrite(d)
		_, _ = io.Copy(io.Discard, dc)
	} else if n, err = io.Copy(io.Discard, dc); err != nil {
		c.T.Fatal(err)
	}
	_ = dc.Close()
	c.Reply(226)
	return n
}

// zeroReader yields n zero bytes in large reads, as a fast client would.
type zeroReader struct{ left int64 }

var zeros = make([]byte, 256<<10)

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), int64(len(zeros)), z.left))
	copy(p[:n], zeros)
	z.left -= int64(n)
	return n, nil
}

// BenchmarkTransfer moves a 64 MiB file per operation through a logged-in
// session (EPSV, RETR or STOR, 226): MB/s from b.SetBytes.
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	for _, tc := range []struct {
		name   string
		clear  bool
		up     bool
		nosync bool
	}{
		{"RETR-P", false, false, false}, {"STOR-P", false, true, false},
		{"RETR-C", true, false, false}, {"STOR-C", true, true, false},
		{"STOR-P-nosync", false, true, true}, {"STOR-C-nosync", true, true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env, c := benchSession(b, tc.clear, func(c *config.Config) {
				if tc.nosync {
					off := false
					c.SyncUploads = &off
				}
			})
			if !tc.up {
				f, err := os.Create(filepath.Join(env.home(), "big.bin"))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(f, &zeroReader{left: size}); err != nil {
					b.Fatal(err)
				}
				_ = f.Close()
			}
			b.SetBytes(size)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if tc.up {
					c.dataCmd("STOR up.bin", &zeroReader{left: size}, !tc.clear)
				} else if n := c.dataCmd("RETR big.bin", nil, !tc.clear); n != size {
					b.Fatalf("got %d bytes", n)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkListCommand runs LIST or MLSD of 1000 files over a protected
// data connection (EPSV, LIST, TLS handshake resuming the session, 226).
func BenchmarkListCommand(b *testing.B) {
	for _, kind := range []string{"LIST", "MLSD"} {
		b.Run(kind, func(b *testing.B) {
			env, c := benchSession(b, false, nil)
			makeListDir(b, filepath.Join(env.home(), "small"), 1000)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if n := c.dataCmd(kind+" small", nil, true); n == 0 {
					b.Fatal("empty listing")
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkSession is one whole short session: connect, AUTH TLS, login,
// PBSZ, PROT P, EPSV + RETR of 4 KiB over a resumed TLS session, QUIT.
func BenchmarkSession(b *testing.B) {
	benchSessions(b, newEnv(b, envOpt{}))
}

// benchSessions times whole short sessions against env.
func benchSessions(b *testing.B, env *testEnv) {
	env.writeFile("small.bin", make([]byte, 4096))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		c := env.dial(false)
		c.secure() // AUTH TLS, login, PBSZ 0, PROT P
		c.Must("TYPE I", 200)
		if n := c.dataCmd("RETR small.bin", nil, true); n != 4096 {
			b.Fatalf("got %d bytes", n)
		}
		c.Must("QUIT", 221)
		_ = c.Raw.Close()
	}
	reportCPU(b, cpu)
}

// BenchmarkSessionNoCredentialCache is BenchmarkSession with the credential
// cache off: every login verifies the bcrypt hash (cost 4 in these tests).
func BenchmarkSessionNoCredentialCache(b *testing.B) {
	env := newEnv(b, envOpt{auth: func(a Authenticator) Authenticator {
		a.(*users.Store).SetCredentialCache(false)
		return a
	}})
	benchSessions(b, env)
	if st := env.srv.users.(*users.Store).Stats(); st.CacheHits != 0 {
		b.Fatalf("the cache was used: %+v", st)
	}
}
