package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// FuzzParseCommand: the command parser never panics, returns an upper-case
// ASCII verb of at most 8 bytes without spaces, strips every Telnet IAC
// sequence, and otherwise keeps the line as it came: verb, one space, arg.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER alice", "retr  file with spaces ", "\xff\xf4\xff\xf2ABOR", "", " ", "AUTH TLS",
		"   list -la", "ABCDEFGHI x", "st\xc3\xa4t /", "STOR a\x00b", "\xffUSER x\xf2y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		verb, arg := parseCommand(line)
		if len(verb) > 8 || verb != strings.ToUpper(verb) || strings.ContainsRune(verb, ' ') {
			t.Fatalf("verb %q", verb)
		}
		for i := 0; i < len(verb); i++ {
			if verb[i] >= 0x80 {
				t.Fatalf("non-ASCII verb %q", verb)
			}
		}
		telnet := func(s string) bool { return strings.IndexByte(s, 0xff) >= 0 || strings.IndexByte(s, 0xf2) >= 0 }
		if telnet(verb + arg) {
			t.Fatalf("Telnet bytes left in %q %q", verb, arg)
		}
		if verb == "" || telnet(line) {
			return
		}
		// Without Telnet bytes the line is verb (any case), then " "+arg.
		rest := strings.TrimLeft(line, " ")
		if !strings.EqualFold(rest[:len(verb)], verb) {
			t.Fatalf("verb %q is not the start of %q", verb, rest)
		}
		if tail := rest[len(verb):]; tail != "" && tail != " "+arg {
			t.Fatalf("arg %q, line %q", arg, line)
		}
	})
}

var replyLineRE = regexp.MustCompile(`^[1-5][0-9][0-9][ -]`)

// panicRecorder is a log handler that keeps what session.serve logs when it
// recovers from a panic: the session survives it, the fuzz target must not.
type panicRecorder struct {
	slog.Handler
	mu     *sync.Mutex
	panics *[]string
}

func newPanicRecorder() *panicRecorder {
	return &panicRecorder{Handler: slog.DiscardHandler, mu: &sync.Mutex{}, panics: new([]string)}
}

func (p *panicRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (p *panicRecorder) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "panic") {
		return nil
	}
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += "\n" + a.Key + ": " + a.Value.String()
		return true
	})
	p.mu.Lock()
	*p.panics = append(*p.panics, msg)
	p.mu.Unlock()
	return nil
}

func (p *panicRecorder) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicRecorder) WithGroup(string) slog.Handler      { return p }

// check fails t with the first panic recovered since the last check.
func (p *panicRecorder) check(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(*p.panics) > 0 {
		msg := (*p.panics)[0]
		*p.panics = nil
		t.Fatalf("a session panicked: %s", msg)
	}
}

// fuzzServer is a server on root (alice's home is root/alice) with the
// policy relaxed to clear logins and clear data, so that fuzzing reaches the
// deeper states without a TLS handshake per input.
func fuzzServer(f *testing.F, root string) (*Server, *panicRecorder) {
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
	cfg.Root = root
	cfg.Policy.Control.RequireTLS = config.RequireTLSOptional
	cfg.Policy.Data.Protection = config.ProtectionClientChoice
	cfg.Policy.Control.CCC = config.CCCAllowAfterLogin
	cfg.Policy.Data.ActiveMode = config.ActiveModeClientAddressOnly
	cfg.Limits.DataTimeout.Duration = 30 * time.Millisecond
	cfg.Limits.LoginTimeout.Duration = 2 * time.Second
	cfg.Limits.IdleTimeout.Duration = 2 * time.Second
	cfg.Limits.MaxLoginFailures = 100
	cfg.Policy.Authentication.Anonymous = config.AnonymousPolicy{Enabled: true, Connection: config.AnonymousAny}
	panics := newPanicRecorder()
	srv, err := New(cfg, Options{
		TLSConfig:  &tls.Config{Certificates: []tls.Certificate{cert}},
		Users:      users.NewStore(db),
		Logger:     slog.New(panics),
		Ordinal:    -1,
		LoginDelay: -1,
	})
	if err != nil {
		f.Fatal(err)
	}
	return srv, panics
}

// checkIdle checks that an ended session left nothing behind: no session
// registered, no home held open.
func checkIdle(t *testing.T, srv *Server) {
	t.Helper()
	if n := len(srv.openSessions()); n != 0 {
		t.Fatalf("%d sessions still registered after their connection closed", n)
	}
	if n := srv.homes.count(); n != 0 {
		t.Fatalf("%d homes still open after the session ended", n)
	}
}

// FuzzSession feeds a sequence of command lines to a session over net.Pipe
// and checks that it never panics (serve recovers panics; the recorder sees
// them), that it greets with 220, that every reply line is a valid reply (a
// 3-digit code 1xx-5xx, or a continuation line of a multi-line one), and
// that once its connection is closed it ends leaving no session registered
// and no home open. Seeds are in testdata/fuzz/FuzzSession, plus these.
func FuzzSession(f *testing.F) {
	srv, panics := fuzzServer(f, f.TempDir())
	f.Add([]byte("USER alice\r\nPASS correct horse\r\nPWD\r\nQUIT\r\n"))
	f.Add([]byte("USER alice\nPASS correct horse\nMKD d\nCWD d\nCDUP\nRNFR d\nRNTO e\nRMD e\nREST 5\nPASV\nRETR x\nSTAT\nREIN\nUSER anonymous\nPASS a@b\nLIST -la\n"))
	f.Add([]byte("PBSZ 0\nPROT P\nCCC\nUSER alice\nPASS wrong\nPASS correct horse\nEPSV ALL\nPORT 127,0,0,1,4,1\nEPRT |1|127.0.0.1|1025|\nMLSD /\nNOOP\n"))
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
			if greeting, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(greeting, "220 ") {
				replies <- &badReply{"greeting " + greeting}
				return
			}
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
		panics.check(t)
		checkIdle(t, srv)
	})
}

type badReply struct{ line string }

func (b *badReply) Error() string { return "invalid reply line " + b.line }

// The outside world of FuzzListingPath: every file and folder a listing must
// never show carries this size and modification time, so that a leak shows
// whatever name it is reached by.
const (
	outsideSize  = 31337
	outsideName  = "outside-secret.txt"
	outsideStamp = "Feb  3  2001"
)

var outsideTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// plantListingTree builds the server root for FuzzListingPath: alice's home
// with files, folders and symlinks (one inside, four leading out of it), a
// sibling home, and a folder outside the server root, and returns the root.
func plantListingTree(f *testing.F) string {
	base := f.TempDir()
	root := filepath.Join(base, "root")
	home := filepath.Join(root, testUser)
	outside := filepath.Join(base, "outside")
	plant := func(name string, size int) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(name, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	plant(filepath.Join(home, "a.txt"), 1)
	plant(filepath.Join(home, "with space.txt"), 2)
	plant(filepath.Join(home, "sub", "inner.txt"), 3)
	plant(filepath.Join(home, "sub", "deeper", "-la"), 4)
	plant(filepath.Join(home, "*"), 5)
	plant(filepath.Join(outside, outsideName), outsideSize)
	plant(filepath.Join(root, "bob", outsideName), outsideSize)
	for target, link := range map[string]string{
		"sub":                                  "inside-link",
		outside:                                "escape",
		filepath.Join(outside, outsideName):    "secret-link",
		"../bob":                               "up",
		"../../outside":                        "rel-escape",
		filepath.Join("sub", "..", "..", ".."): "climb",
	} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{outside, filepath.Join(outside, outsideName), filepath.Join(root, "bob"), filepath.Join(root, "bob", outsideName)} {
		if err := os.Chtimes(p, outsideTime, outsideTime); err != nil {
			f.Fatal(err)
		}
	}
	return root
}

// FuzzListingPath fuzzes the path argument of the listing commands (LIST,
// NLST, STAT, MLST, and CWD that changes what "." is): ls options mixed with
// paths, "..", absolute paths, backslashes, NUL, non-UTF-8, long names.
//
// First, on the functions themselves: listingArg and resolve never panic, and
// a resolved path stays in the home: virt is clean and absolute, rel is
// virt without its "/" ("." for the home), relative, without "..".
// Then, over a real session against a planted home whose symlinks lead out
// of it: no listing line, MLST fact or SIZE reply ever shows a file or
// folder of the outside (recognised by its size and date), every PWD stays
// clean, and the session still answers QUIT.
func FuzzListingPath(f *testing.F) {
	srv, panics := fuzzServer(f, plantListingTree(f))
	for _, s := range [][2]string{
		{"", "-la"}, {"/", "-la /"}, {"sub", "-l -a inner.txt"}, {"/", "escape"}, {"/", "-la escape"},
		{"/", "escape/" + outsideName}, {"/", "secret-link"}, {"/", "up/" + outsideName}, {"sub", "../../bob"},
		{"/", "rel-escape"}, {"/", "climb"}, {"inside-link", ".."}, {"/", `..\..\outside`}, {"/", "/../../.."},
		{"/", "*"}, {"/", "sub/deeper/-la"}, {"/", "-- -la"}, {"/", "a\x00b"}, {"/", "\xff\xfe/\xc0\xaf"},
		{"sub/deeper", strings.Repeat("../", 300)}, {"/", strings.Repeat("a/", 2000)}, {"/", ".ftpsd-upload-x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Add(strings.Repeat("../", 2*maxLine), strings.Repeat("x", 2*maxLine))
	// The harness sees listings: the home lists its files and its inside
	// link, not the links that lead out (listDir skips what Stat refuses).
	replies := runScript(f, srv, "USER "+testUser+"\r\nPASS "+testPassword+"\r\nSTAT -la /\r\nQUIT\r\n")
	if len(replies) != 4 || !strings.Contains(replies[2], " a.txt\n") || !strings.Contains(replies[2], " inside-link\n") ||
		strings.Contains(replies[2], "escape") || strings.Contains(replies[2], "secret-link") {
		f.Fatalf("STAT -la / of the planted home: %q", replies)
	}
	panics.check(f)
	f.Fuzz(func(t *testing.T, cwdArg, arg string) {
		// One command line each: a CR or LF would start another command.
		cwdArg, _, _ = strings.Cut(strings.ReplaceAll(cwdArg, "\r", "\n"), "\n")
		arg, _, _ = strings.Cut(strings.ReplaceAll(arg, "\r", "\n"), "\n")
		// Within maxLine: a longer line never reaches the path code (500,
		// and a few of them close the session; FuzzSession covers that).
		cwdArg, arg = cwdArg[:min(len(cwdArg), maxLine-16)], arg[:min(len(arg), maxLine-16)]
		checkResolve(t, "/", arg)
		cwd, _ := (&session{cwd: "/"}).resolve(cwdArg)
		checkResolve(t, cwd, arg)
		checkResolve(t, cwd, listingArg(arg))

		script := "USER " + testUser + "\r\nPASS " + testPassword + "\r\nCWD " + cwdArg + "\r\nPWD\r\n" +
			"STAT " + arg + "\r\nMLST " + arg + "\r\nSIZE " + arg + "\r\nCWD " + arg + "\r\nPWD\r\nSTAT .\r\nQUIT\r\n"
		replies := runScript(t, srv, script)
		panics.check(t)
		checkIdle(t, srv)
		if len(replies) == 0 || !strings.HasPrefix(replies[len(replies)-1], "221") {
			t.Fatalf("the session did not answer QUIT: %q", replies)
		}
		for _, r := range replies {
			lines := strings.Split(r, "\n")
			code := lines[0][:3]
			switch {
			case code == "257":
				virt, _, _ := strings.Cut(strings.TrimPrefix(lines[0][4:], `"`), `" is`)
				virt = strings.ReplaceAll(virt, `""`, `"`)
				if virt != path.Clean(virt) || !strings.HasPrefix(virt, "/") {
					t.Fatalf("PWD %q is not a clean absolute path", virt)
				}
			case code == "213" && len(lines) == 1:
				if lines[0] == "213 "+strconv.Itoa(outsideSize) {
					t.Fatalf("SIZE shows a file outside the home: %q", r)
				}
			}
			for _, l := range lines[1:] {
				// Continuation lines carry listing entries and MLST facts;
				// names come from the arg too, so check sizes and dates.
				if !strings.HasPrefix(l, " ") {
					continue
				}
				facts, _, _ := strings.Cut(l[1:], " ")
				if strings.Contains(l, outsideStamp) || strings.Contains(facts, "size="+strconv.Itoa(outsideSize)+";") ||
					strings.Contains(facts, "modify="+outsideTime.Format(mlsxTime)) {
					t.Fatalf("a listing shows something outside the home: %q\nscript %q", l, script)
				}
			}
		}
	})
}

// checkResolve checks that resolve keeps arg, seen from cwd, in the home.
func checkResolve(t *testing.T, cwd, arg string) {
	t.Helper()
	virt, rel := (&session{cwd: cwd}).resolve(arg)
	if !strings.HasPrefix(virt, "/") || path.Clean(virt) != virt {
		t.Fatalf("resolve(%q, %q): virt %q is not clean and absolute", cwd, arg, virt)
	}
	want := strings.TrimPrefix(virt, "/")
	if want == "" {
		want = "."
	}
	if rel != want || path.IsAbs(rel) || path.Clean(rel) != rel {
		t.Fatalf("resolve(%q, %q): rel %q for virt %q", cwd, arg, rel, virt)
	}
	for _, el := range strings.Split(rel, "/") {
		if el == ".." || el == "" || (el == "." && rel != ".") {
			t.Fatalf("resolve(%q, %q): rel %q climbs or is not clean", cwd, arg, rel)
		}
	}
}

// runScript sends script to a session over net.Pipe and returns its
// replies (multi-line ones joined with LF), greeting excluded.
func runScript(t testing.TB, srv *Server, script string) []string {
	t.Helper()
	client, serverSide := net.Pipe()
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeConn(serverSide, false)
	}()
	defer func() {
		_ = client.Close()
		<-done
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(client, script)
		wrote <- err
	}()
	r := bufio.NewReader(client)
	var replies []string
	for range 1000 {
		_, text, err := ftptest.ReadReply(r)
		if err != nil {
			break
		}
		replies = append(replies, text)
	}
	// A session that ends early (a fatal error) may leave part unwritten:
	// the write error only explains a missing greeting.
	werr := <-wrote
	if len(replies) == 0 || !strings.HasPrefix(replies[0], "220") {
		t.Fatalf("no greeting: %q (writing the script: %v)", replies, werr)
	}
	return replies[1:]
}
