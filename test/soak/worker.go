package soak

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// maxFiles bounds a session's folder: beyond it a session deletes more than
// it creates, so that the disk use stays bounded over a long run.
const maxFiles = 8

// worker is one of the concurrent sessions. It keeps one control connection
// at a time (a new one after a random number of operations, so that session
// set-up and tear-down are part of the load) and works in its own folder.
type worker struct {
	id      int
	user    string
	dir     string // the folder's name in the user's home
	disk    string // the folder on disk, for the checks that look behind ftpsd
	run     *run
	rnd     *mrand.Rand
	f       *folder
	buf     []byte
	made    bool // the folder exists
	aborter bool // also aborts uploads halfway
	aborts  int
	obs     *ftptest.Conn
}

// loop runs sessions until ctx ends; an operation in flight always
// finishes, so that the expected state stays exact.
func (w *worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		c, err := w.connect()
		if err != nil {
			w.run.fail("connect", err)
			sleep(ctx, time.Second)
			continue
		}
		w.run.st.logins.Add(1)
		n := 1 + w.rnd.IntN(2*w.run.o.OpsPerSession)
		ok := true
		for i := 0; i < n && ctx.Err() == nil; i++ {
			if w.run.o.Think > 0 {
				sleep(ctx, time.Duration(w.rnd.Int64N(int64(2*w.run.o.Think)+1)))
			}
			if err := w.step(c); err != nil {
				w.run.fail(errKind(err), err)
				ok = false
				break
			}
		}
		if ok {
			c.Quit()
		} else {
			c.Close()
		}
		if w.obs != nil {
			w.obs.Quit()
			w.obs = nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// errKind names an error for the error table: the command and what went
// wrong, without names or numbers.
func errKind(err error) string {
	var re *ftptest.ReplyError
	if errors.As(err, &re) {
		return fmt.Sprintf("%s: reply %d", ftptest.Verb(re.Line), re.Code)
	}
	var ce *checkError
	if errors.As(err, &ce) {
		return ce.kind
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "i/o timeout"
	}
	msg := err.Error()
	if v, _, ok := strings.Cut(msg, ":"); ok && !strings.Contains(v, " ") {
		return v + ": i/o error"
	}
	return "i/o error"
}

// checkError is a wrong content, listing or file: what the soak is for.
type checkError struct {
	kind, detail string
}

func (e *checkError) Error() string { return e.kind + ": " + e.detail }

func wrong(kind, format string, args ...any) error {
	return &checkError{kind: kind, detail: fmt.Sprintf(format, args...)}
}

// connect opens a session and enters the worker's folder (made on first use).
func (w *worker) connect() (*ftptest.Conn, error) {
	c, err := dial(w.run.srv.ctrl, w.user, w.run.srv.clientTLS(), w.run.o.OpTimeout)
	if err != nil {
		return nil, err
	}
	if !w.made {
		if _, err := c.Expect("MKD "+w.dir, 257); err != nil {
			c.Close()
			return nil, err
		}
		w.made = true
	}
	if _, err := c.Expect("CWD "+w.dir, 250); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// step runs one random operation.
func (w *worker) step(c *ftptest.Conn) error {
	n := len(w.f.files)
	r := w.rnd.IntN(100)
	switch {
	case n == 0:
		return w.store(c, opStore, w.f.fresh("f"))
	case w.aborter && r < 12:
		return w.abortUpload(c)
	case n >= maxFiles && r < 40:
		return w.dele(c)
	case r < 28:
		return w.store(c, opStore, w.f.fresh("f"))
	case r < 34:
		return w.store(c, opOverwrite, w.f.pick(w.rnd))
	case r < 39:
		return w.store(c, opAppend, w.f.pick(w.rnd))
	case r < 60:
		return w.retr(c)
	case r < 73:
		return w.listing(c, []op{opList, opNlst, opMlsd}[w.rnd.IntN(3)])
	case r < 81:
		return w.rename(c)
	case r < 89:
		return w.dele(c)
	case r < 95:
		return w.size(c)
	default:
		return w.probe(c)
	}
}

// fileSize draws a size: mostly small files, some up to MaxSize, a few
// up to LargeSize, and empty ones.
func (w *worker) fileSize() int64 {
	o := w.run.o
	between := func(lo, hi int64) int64 {
		if hi <= lo {
			return lo
		}
		return lo + w.rnd.Int64N(hi-lo+1)
	}
	switch r := w.rnd.IntN(100); {
	case r < 3:
		return 0
	case r < 43:
		return between(1, min(16<<10, o.MaxSize))
	case r < 78:
		return between(min(16<<10, o.MaxSize), min(256<<10, o.MaxSize))
	case r < 99:
		return between(min(256<<10, o.MaxSize), o.MaxSize)
	default:
		return between(o.MaxSize, o.LargeSize)
	}
}

// send writes size pseudo-random bytes to dst and hashes them into h.
func (w *worker) send(dst io.Writer, h io.Writer, size int64) error {
	var seed [32]byte
	for i := range 4 {
		v := w.rnd.Uint64()
		for j := range 8 {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	gen := mrand.NewChaCha8(seed)
	for size > 0 {
		b := w.buf[:min(int64(len(w.buf)), size)]
		_, _ = gen.Read(b)
		_, _ = h.Write(b)
		if _, err := dst.Write(b); err != nil {
			return err
		}
		size -= int64(len(b))
	}
	return nil
}

// store uploads a new file (STOR), replaces one (STOR) or extends one
// (APPE); the record changes only on 226.
func (w *worker) store(c *ftptest.Conn, kind op, name string) error {
	old := w.f.files[name]
	line := "STOR " + name
	base := (*fileRec)(nil)
	if kind == opAppend {
		line, base = "APPE "+name, old
	}
	size := w.fileSize()
	d, tc, err := c.StartData(line)
	if err != nil {
		var re *ftptest.ReplyError
		if !errors.As(err, &re) || re.Line != line {
			w.f.doubt(name) // the command may have run
		}
		return err
	}
	h, err := resume(base)
	if err != nil {
		return err
	}
	if err := w.send(tc, h, size); err != nil {
		_ = d.Close()
		w.f.doubt(name)
		return fmt.Errorf("%s: upload: %w", ftptest.Verb(line), err)
	}
	total := size
	if base != nil {
		total += base.size
	}
	rec, err := hashed(h, total)
	if err != nil {
		return err
	}
	if err := c.Finish(line, d, tc, true); err != nil {
		w.f.doubt(name, rec)
		return err
	}
	w.f.set(name, rec)
	w.run.st.up.Add(size)
	w.run.st.ops[kind].Add(1)
	return nil
}

// retr downloads a file and compares its size and SHA-256 with the record.
func (w *worker) retr(c *ftptest.Conn) error {
	name := w.f.pick(w.rnd)
	want := w.f.files[name]
	line := "RETR " + name
	d, tc, err := c.StartData(line)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, tc, w.buf)
	if err != nil {
		_ = d.Close()
		return fmt.Errorf("RETR: download: %w", err)
	}
	if err := c.Finish(line, d, tc, false); err != nil {
		return err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if n != want.size || sum != want.sum {
		return wrong("RETR: content differs from the upload", "%s/%s: got %d bytes sha256 %x, want %s", w.dir, name, n, sum[:6], want)
	}
	w.run.st.down.Add(n)
	w.run.st.ops[opRetr].Add(1)
	return nil
}

// listing runs LIST, NLST or MLSD on the folder and checks that it names
// exactly the files the session has (with their sizes where the format has
// them) and never an upload's temporary file.
func (w *worker) listing(c *ftptest.Conn, kind op) error {
	line := map[op]string{opList: "LIST", opNlst: "NLST", opMlsd: "MLSD"}[kind]
	d, tc, err := c.StartData(line)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(tc, 1<<20))
	if err != nil {
		_ = d.Close()
		return fmt.Errorf("%s: read: %w", line, err)
	}
	if err := c.Finish(line, d, tc, false); err != nil {
		return err
	}
	if err := w.checkListing(line, body); err != nil {
		return err
	}
	w.run.st.down.Add(int64(len(body)))
	w.run.st.ops[kind].Add(1)
	return nil
}

// checkListing compares a listing of the folder with the expected state.
func (w *worker) checkListing(verb string, body []byte) error {
	seen := map[string]bool{}
	for raw := range bytes.SplitSeq(body, []byte("\r\n")) {
		entry := string(raw)
		if entry == "" {
			continue
		}
		name, size := entry, int64(-1)
		switch verb {
		case "LIST":
			fields := strings.Fields(entry)
			if len(fields) < 9 {
				return wrong(verb+": bad line", "%q", entry)
			}
			name = fields[len(fields)-1]
			size, _ = strconv.ParseInt(fields[4], 10, 64)
		case "MLSD":
			facts, n, ok := strings.Cut(entry, " ")
			if !ok {
				return wrong(verb+": bad line", "%q", entry)
			}
			name = n
			for fact := range strings.SplitSeq(facts, ";") {
				if v, ok := strings.CutPrefix(fact, "size="); ok {
					size, _ = strconv.ParseInt(v, 10, 64)
				}
			}
		}
		seen[name] = true
		if strings.HasPrefix(name, ".ftpsd-") {
			return wrong(verb+": temporary upload file listed", "%s: %q", w.dir, entry)
		}
		_, known := w.f.files[name]
		_, unsure := w.f.unsure[name]
		if !known && !unsure {
			return wrong(verb+": unexpected name", "%s: %q", w.dir, entry)
		}
		if size >= 0 && !w.f.allows(name, size, nil) {
			return wrong(verb+": wrong size", "%s: %q, want %s", w.dir, entry, w.f.files[name])
		}
	}
	for name := range w.f.files {
		if !seen[name] {
			return wrong(verb+": file missing", "%s/%s (%s) not listed", w.dir, name, w.f.files[name])
		}
	}
	return nil
}

// rename moves a file to a fresh name, or over another of its files.
func (w *worker) rename(c *ftptest.Conn) error {
	from := w.f.pick(w.rnd)
	to := w.f.fresh("r")
	if others := slices.DeleteFunc(w.f.names(), func(n string) bool { return n == from }); len(others) > 0 && w.rnd.IntN(4) == 0 {
		to = others[w.rnd.IntN(len(others))]
	}
	rec := w.f.files[from]
	if _, err := c.Expect("RNFR "+from, 350); err != nil {
		return err
	}
	code, text, err := c.Cmd("RNTO " + to)
	if err != nil || code != 250 {
		w.f.doubt(from, nil)
		w.f.doubt(to, rec)
		if err != nil {
			return fmt.Errorf("RNTO: %w", err)
		}
		return &ftptest.ReplyError{Line: "RNTO " + to, Code: code, Text: text}
	}
	w.f.set(from, nil)
	w.f.set(to, rec)
	w.run.st.ops[opRename].Add(1)
	return nil
}

func (w *worker) dele(c *ftptest.Conn) error {
	name := w.f.pick(w.rnd)
	code, text, err := c.Cmd("DELE " + name)
	if err != nil || code != 250 {
		w.f.doubt(name, nil)
		if err != nil {
			return fmt.Errorf("DELE: %w", err)
		}
		return &ftptest.ReplyError{Line: "DELE " + name, Code: code, Text: text}
	}
	w.f.set(name, nil)
	w.run.st.ops[opDelete].Add(1)
	return nil
}

func (w *worker) size(c *ftptest.Conn) error {
	name := w.f.pick(w.rnd)
	text, err := c.Expect("SIZE "+name, 213)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(strings.TrimPrefix(text, "213")); got != strconv.FormatInt(w.f.files[name].size, 10) {
		return wrong("SIZE: wrong size", "%s/%s: %q, want %s", w.dir, name, text, w.f.files[name])
	}
	w.run.st.ops[opSize].Add(1)
	return nil
}

// probe asks for a file that was deleted or renamed away (or never made):
// it must stay gone (550), whether asked with RETR or SIZE.
func (w *worker) probe(c *ftptest.Conn) error {
	name := "never"
	if len(w.f.gone) > 0 {
		name = w.f.gone[w.rnd.IntN(len(w.f.gone))]
	}
	if !w.f.mayBeAbsent(name) {
		return nil // came back by a rename over it: nothing to probe
	}
	if _, ok := w.f.unsure[name]; ok {
		return nil
	}
	line := []string{"RETR ", "SIZE "}[w.rnd.IntN(2)] + name
	code, text, err := c.Cmd(line)
	if err != nil {
		return fmt.Errorf("%s: %w", ftptest.Verb(line), err)
	}
	if code != 550 {
		return wrong(ftptest.Verb(line)+": deleted file came back", "%s/%s: %q", w.dir, name, text)
	}
	w.run.st.ops[opProbe].Add(1)
	return nil
}

// abortUpload starts an upload, sends part of it, checks that the
// unfinished file is visible neither under its name (through a second
// session, and on disk) nor in listings while ftpsd holds it as a temporary
// file, then aborts it with ABOR or by resetting the data connection, and
// checks that the name still holds what it held before and that no
// temporary file is left.
func (w *worker) abortUpload(c *ftptest.Conn) error {
	name := w.f.fresh("a")
	if w.rnd.IntN(2) == 0 {
		name = w.f.pick(w.rnd)
	}
	old := w.f.files[name]
	if w.obs == nil {
		obs, err := dial(w.run.srv.ctrl, w.user, w.run.srv.clientTLS(), w.run.o.OpTimeout)
		if err != nil {
			return fmt.Errorf("observer: %w", err)
		}
		if _, err := obs.Expect("CWD "+w.dir, 250); err != nil {
			obs.Close()
			return err
		}
		w.obs = obs
		w.run.st.logins.Add(1)
	}
	line := "STOR " + name
	d, tc, err := c.StartData(line)
	if err != nil {
		return err
	}
	part := int64(16<<10) + w.rnd.Int64N(240<<10)
	if err := w.send(tc, sha256.New(), part); err != nil {
		_ = d.Close()
		w.f.doubt(name)
		return fmt.Errorf("STOR: partial upload: %w", err)
	}
	if err := w.waitProgress(c); err != nil {
		_ = d.Close()
		w.f.doubt(name)
		return err
	}
	// Halfway: on disk there is a temporary file, never the final name.
	if err := w.checkDisk(name, old, true); err != nil {
		_ = d.Close()
		w.f.doubt(name)
		return err
	}
	// And another session of the same user sees exactly the old state.
	if err := w.observe(); err != nil {
		_ = d.Close()
		w.f.doubt(name)
		return err
	}
	// The two ways alternate, each aborting session starting with another
	// one than its predecessor: a short run sees both.
	w.aborts++
	kind := opAbortABOR
	if (w.aborts+w.id/max(1, w.run.o.AborterEvery))%2 == 0 {
		kind = opAbortRST
	}
	switch kind {
	case opAbortABOR:
		if err := c.Send("ABOR"); err != nil {
			_ = d.Close()
			w.f.doubt(name)
			return fmt.Errorf("ABOR: %w", err)
		}
		for _, want := range []int{426, 226} {
			code, text, err := c.Read()
			if err != nil || code != want {
				_ = d.Close()
				w.f.doubt(name)
				return fmt.Errorf("ABOR: reply %q (want %d): %v", text, want, err)
			}
		}
		_ = d.Close()
	case opAbortRST:
		_ = d.SetLinger(0) // close with RST: no end of file, an error
		_ = d.Close()
		code, text, err := c.Read()
		if err != nil || code != 426 {
			w.f.doubt(name)
			return fmt.Errorf("STOR after reset: reply %q (want 426): %v", text, err)
		}
	}
	// ftpsd removes the temporary file before its final reply.
	if err := w.checkDisk(name, old, false); err != nil {
		w.f.doubt(name)
		return err
	}
	w.run.st.ops[kind].Add(1)
	return nil
}

// waitProgress asks STAT (answered during a transfer) until ftpsd has
// written some of the upload, so that the checks see a real half file.
func (w *worker) waitProgress(c *ftptest.Conn) error {
	for range 100 {
		code, text, err := c.Cmd("STAT")
		if err != nil || code != 211 {
			return fmt.Errorf("STAT during upload: %q: %v", text, err)
		}
		if i := strings.Index(text, ": "); i > 0 {
			var n int64
			if _, err := fmt.Sscanf(text[i+2:], "%d bytes so far", &n); err == nil && n > 0 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil // slow server: the checks still hold, with less to prove
}

// checkDisk looks behind ftpsd: name must hold old (nil: absent), and a
// temporary upload file must be there exactly while the upload runs.
func (w *worker) checkDisk(name string, old *fileRec, uploading bool) error {
	ents, err := os.ReadDir(w.disk)
	if err != nil {
		return err
	}
	temps := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".ftpsd-") {
			temps++
		}
	}
	switch {
	case uploading && temps > 0:
		w.run.st.hiddenSeen.Add(1)
	case !uploading && temps > 0:
		return wrong("aborted upload left a temporary file", "%s: %d .ftpsd- files", w.dir, temps)
	}
	got, err := fileOnDisk(filepath.Join(w.disk, name))
	if err != nil {
		return err
	}
	switch {
	case old == nil && got != nil:
		return wrong("half-written file visible", "%s/%s exists (%d bytes) during or after an aborted upload", w.dir, name, got.size)
	case old != nil && (got == nil || got.size != old.size || got.sum != old.sum):
		return wrong("aborted upload changed the file", "%s/%s: %s, want %s", w.dir, name, got, old)
	}
	return nil
}

// observe lists the folder through the second session, and asks SIZE of
// every file, while the first session's upload is halfway.
func (w *worker) observe() error {
	d, tc, err := w.obs.StartData("MLSD")
	if err != nil {
		return fmt.Errorf("observer: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(tc, 1<<20))
	if err != nil {
		_ = d.Close()
		return fmt.Errorf("observer MLSD: %w", err)
	}
	if err := w.obs.Finish("MLSD", d, tc, false); err != nil {
		return fmt.Errorf("observer: %w", err)
	}
	return w.checkListing("MLSD", body)
}

// fileOnDisk reads a file's size and SHA-256 (nil when it does not exist).
func fileOnDisk(p string) (*fileRec, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	r := &fileRec{size: n}
	h.Sum(r.sum[:0])
	return r, nil
}
