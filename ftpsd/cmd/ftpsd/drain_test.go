package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// loadClient is one session of the load test: a small FTPS client that
// returns errors instead of failing the test, since it runs in a goroutine
// of its own and the server going away is what it is there to meet.
type loadClient struct {
	raw  net.Conn // the TCP connection
	ctrl net.Conn // raw, or TLS over it after AUTH TLS
	r    *bufio.Reader
	conf *tls.Config
	host string
}

// loadDeadline bounds every connection of the load.
const loadDeadline = 2 * time.Minute

func dialLoad(addr string, conf *tls.Config) (*loadClient, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = raw.SetDeadline(time.Now().Add(loadDeadline))
	host, _, _ := net.SplitHostPort(addr)
	c := &loadClient{raw: raw, ctrl: raw, r: bufio.NewReader(raw), conf: conf, host: host}
	if err := c.expect(220); err != nil {
		_ = raw.Close()
		return nil, err
	}
	steps := []struct {
		line string
		code int
	}{{"AUTH TLS", 234}, {"USER " + testUser, 331}, {"PASS " + testPassword, 230}, {"PBSZ 0", 200}, {"PROT P", 200}, {"TYPE I", 200}}
	for i, s := range steps {
		if err := c.must(s.line, s.code); err != nil {
			_ = raw.Close()
			return nil, err
		}
		if i == 0 {
			tc := tls.Client(raw, conf)
			if err := tc.Handshake(); err != nil {
				_ = raw.Close()
				return nil, err
			}
			c.ctrl, c.r = tc, bufio.NewReader(tc)
		}
	}
	return c, nil
}

func (c *loadClient) close() { _ = c.raw.Close() }

func (c *loadClient) cmd(line string) (int, string, error) {
	if _, err := io.WriteString(c.ctrl, line+"\r\n"); err != nil {
		return 0, "", err
	}
	return ftptest.ReadReply(c.r)
}

func (c *loadClient) expect(code int) error {
	got, text, err := ftptest.ReadReply(c.r)
	if err == nil && got != code {
		err = fmt.Errorf("got %q, want %d", text, code)
	}
	return err
}

func (c *loadClient) must(line string, code int) error {
	got, text, err := c.cmd(line)
	if err == nil && got != code {
		err = fmt.Errorf("%s: got %q, want %d", strings.Fields(line)[0], text, code)
	}
	return err
}

// upload is one STOR as the client saw it.
type upload struct {
	name   string
	sum    [sha256.Size]byte
	size   int
	opened bool // 150 came: the server took the transfer on
	sent   bool // every byte was sent and the data connection closed cleanly
	code   int  // the final reply, 0 if none came
	text   string
}

// store uploads data as name. pause, when not nil, is called once half the
// data is sent. A data connection that fails is reset (linger 0), never
// closed cleanly: for FTP a clean close is the end of the file.
func (c *loadClient) store(name string, data []byte, pause func()) upload {
	u := upload{name: name, sum: sha256.Sum256(data), size: len(data)}
	code, text, err := c.cmd("EPSV")
	if err != nil || code != 229 {
		u.code, u.text = code, text
		return u
	}
	port := text[strings.Index(text, "|||")+3 : strings.LastIndex(text, "|")]
	d, err := net.DialTimeout("tcp", net.JoinHostPort(c.host, port), 5*time.Second)
	if err != nil {
		return u
	}
	defer d.Close()
	_ = d.SetDeadline(time.Now().Add(loadDeadline))
	if u.code, u.text, err = c.cmd("STOR " + name); err != nil || u.code != 150 {
		return u
	}
	u.opened, u.code, u.text = true, 0, ""
	dc := tls.Client(d, c.conf)
	err = dc.Handshake()
	half := len(data) / 2
	if err == nil {
		_, err = dc.Write(data[:half])
	}
	if err == nil && pause != nil {
		pause()
	}
	if err == nil {
		_, err = dc.Write(data[half:])
	}
	if err == nil {
		err = dc.CloseWrite()
	}
	if err != nil {
		_ = d.(*net.TCPConn).SetLinger(0)
		_ = d.Close()
	} else {
		u.sent = true
		_ = d.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, dc)
	}
	u.code, u.text, _ = ftptest.ReadReply(c.r)
	return u
}

// drainRun is what one load run saw.
type drainRun struct {
	mu      sync.Mutex
	uploads []upload
	// held counts the held transfers not yet halfway.
	held sync.WaitGroup
}

func (r *drainRun) add(u upload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uploads = append(r.uploads, u)
}

func (r *drainRun) completed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.uploads {
		if u.code == 226 {
			n++
		}
	}
	return n
}

// randomSize is mostly small files, a quarter of them up to 3 MiB.
func randomSize(rng *rand.Rand) int {
	if rng.IntN(4) == 0 {
		return rng.IntN(3 << 20)
	}
	return rng.IntN(256 << 10)
}

// SIGTERM under load: 40 sessions upload files of random sizes in a loop,
// four of them held halfway through an upload when SIGTERM comes. With a
// grace period long enough, every transfer under way finishes (226) and
// ftpsd exits; with a short one, the held transfers are cut. Either way:
// every upload that got 226 is there with its SHA-256, no file is there
// under its name that did not get 226, no temporary file is left, and a new
// connection after SIGTERM is refused or gets 421.
func TestSIGTERMUnderLoad(t *testing.T) {
	for _, v := range []struct {
		name  string
		grace time.Duration
		cut   bool // the held transfers outlast the grace period
	}{
		{"grace period lets transfers finish", 60 * time.Second, false},
		{"grace period ends first", 300 * time.Millisecond, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			runDrain(t, v.grace, v.cut)
		})
	}
}

func runDrain(t *testing.T, grace time.Duration, cut bool) {
	const sessions, held, maxUploads = 40, 4, 500
	p := startSubprocess(t, "--grace-period", grace.String())
	home := filepath.Join(p.root, testUser)

	run := &drainRun{}
	draining := make(chan struct{}) // closed once ftpsd is seen draining
	exited := make(chan struct{})   // closed once ftpsd has exited
	markExited := sync.OnceFunc(func() { close(exited) })
	defer markExited() // never leave a held worker waiting
	var workers sync.WaitGroup
	run.held.Add(held)
	for w := range sessions {
		workers.Go(func() {
			halfway := func() {}
			if w < held {
				halfway = sync.OnceFunc(run.held.Done)
			}
			defer halfway() // whatever happens, the test goes on
			conf := p.tlsConf.Clone()
			conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			c, err := dialLoad(p.ctrl, conf)
			if err != nil {
				t.Errorf("session %d: %v", w, err)
				return
			}
			defer c.close()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			if w < held {
				// Held: half an upload sent, then wait until the drain has
				// begun (drain) or ftpsd has exited (cut) to send the rest.
				data := make([]byte, 1<<20+rng.IntN(1<<20))
				fillRandom(rng, data)
				release := draining
				if cut {
					release = exited
				}
				run.add(c.store(fmt.Sprintf("held-%02d.bin", w), data, func() {
					halfway()
					<-release
				}))
				return
			}
			for n := range maxUploads {
				data := make([]byte, randomSize(rng))
				fillRandom(rng, data)
				u := c.store(fmt.Sprintf("w%02d-%03d.bin", w, n), data, nil)
				run.add(u)
				if u.code != 226 {
					return
				}
			}
		})
	}

	// SIGTERM once the held transfers are halfway and some uploads are done.
	run.held.Wait()
	for i := 0; i < 600 && run.completed() < 2*sessions; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()

	// Once the drain has begun (a bounded wait for the signal to land), a
	// new connection is refused or gets 421.
	unready := false
	for range 2000 {
		if p.readyz(t) != http.StatusOK { // 503, or already gone
			unready = true
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(draining)
	if !unready {
		t.Error("/readyz stayed ready after SIGTERM")
	} else {
		if c, err := net.DialTimeout("tcp", p.ctrl, time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			code, text, rerr := ftptest.ReadReply(bufio.NewReader(c))
			_ = c.Close()
			if rerr == nil && code != 421 {
				t.Errorf("a connection after SIGTERM got %q, want refused or 421", text)
			}
		}
	}

	var exitAfter time.Duration
	select {
	case <-p.exited:
		exitAfter = time.Since(termAt)
		if p.exitErr != nil {
			t.Errorf("ftpsd exited with %v", p.exitErr)
		}
	case <-time.After(grace + waitFor):
		t.Fatalf("ftpsd still running %s after SIGTERM (grace period %s)", grace+waitFor, grace)
	}
	markExited()
	workers.Wait()
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Error("no clean stop logged")
	}

	// What the clients saw against what is on disk.
	byName := map[string]upload{}
	var completed, cutShort, refused, heldDone int
	for _, u := range run.uploads {
		byName[u.name] = u
		switch {
		case u.code == 226:
			completed++
			if strings.HasPrefix(u.name, "held-") {
				heldDone++
			}
		case u.opened:
			cutShort++
		default:
			refused++
		}
	}
	verified := 0
	for _, u := range run.uploads {
		data, err := os.ReadFile(filepath.Join(home, u.name))
		switch {
		case u.code == 226 && err != nil:
			t.Errorf("%s got 226 but is lost: %v", u.name, err)
		case u.code == 226 && sha256.Sum256(data) != u.sum:
			t.Errorf("%s got 226 but holds %d bytes that differ from the %d sent", u.name, len(data), u.size)
		case u.code == 226:
			verified++
		case err == nil:
			t.Errorf("%s is there (%d of %d bytes, all sent: %v) but got %d %q, not 226", u.name, len(data), u.size, u.sent, u.code, u.text)
		case !errors.Is(err, fs.ErrNotExist):
			t.Error(err)
		}
	}
	ents, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, ok := byName[e.Name()]; !ok {
			t.Errorf("left in the home: %s", e.Name())
		}
	}
	if cut {
		if heldDone != 0 {
			t.Errorf("%d held transfers completed although the grace period ended first", heldDone)
		}
	} else {
		if heldDone != held {
			t.Errorf("%d of %d held transfers completed during the drain", heldDone, held)
		}
		if cutShort != 0 {
			t.Errorf("%d transfers cut although the grace period was long enough", cutShort)
		}
	}
	if completed < sessions {
		t.Errorf("only %d uploads completed before SIGTERM: the load proved little", completed)
	}
	t.Logf("uploads completed %d (verified %d), cut %d, refused before 150 %d; ftpsd exited %s after SIGTERM (grace period %s)",
		completed, verified, cutShort, refused, exitAfter.Round(time.Millisecond), grace)
}

func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(rng.Uint32())
	}
}
