//go:build linux

package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// mountTmpfs mounts a tmpfs with opts (size=2m, nr_inodes=...) on a new
// folder: a real file system that fills up, with no other tenant.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Fatalf("mount tmpfs (%s) on %s: %v (the disk-full tests mount a small tmpfs and need root)", opts, dir, err)
	}
	// Registered after TempDir's cleanup, so it runs before it.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fullEnv serves alice's home from a fresh tmpfs mounted with opts.
func fullEnv(t *testing.T, opts string, sync bool) *testEnv {
	t.Helper()
	mnt := mountTmpfs(t, opts)
	e := newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Root = mnt
		c.SyncUploads = &sync
		c.Policy.Data.Protection = config.ProtectionClientChoice
	}})
	e.root = mnt // newEnv's root is its own temporary folder
	if err := os.MkdirAll(e.home(), 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes alice's file name so that about leave bytes stay free.
func (e *testEnv) fill(name string, leave int64) {
	e.t.Helper()
	n := freeBytes(e.t.(*testing.T), e.home()) - leave
	if n <= 0 || n > 64<<20 {
		e.t.Fatalf("only %d bytes free, want to leave %d", n+leave, leave)
	}
	e.writeFile(name, make([]byte, n))
}

// emptyHome removes everything in alice's home.
func (e *testEnv) emptyHome() {
	e.t.Helper()
	for _, name := range listDirNames(e.t.(*testing.T), e.home()) {
		if err := os.RemoveAll(filepath.Join(e.home(), name)); err != nil {
			e.t.Fatal(err)
		}
	}
}

// storeCut runs an upload that the server may stop reading halfway (its
// disk is full): a failed write is expected, and the data connection is
// then reset, never closed as if the data were all sent. meanwhile, when not
// nil, runs once the first 32 KiB are sent, with the transfer still open.
func (c *client) storeCut(command string, data []byte, protected bool, meanwhile func()) (int, string) {
	c.T.Helper()
	d := c.DialData(c.EPSV())
	if code, text := c.Cmd(command); code != 150 {
		return code, text
	}
	var conf *tls.Config
	if protected {
		conf = c.TLS
	}
	dc, err := c.Wrap(d, conf)
	if err != nil {
		return c.Read()
	}
	first := min(len(data), 32<<10)
	_, err = dc.Write(data[:first])
	if err == nil && meanwhile != nil {
		meanwhile()
	}
	if err == nil {
		_, err = dc.Write(data[first:])
	}
	if err == nil {
		if tc, ok := dc.(*tls.Conn); ok {
			_ = tc.CloseWrite()
		}
		_ = closeWrite(d)
		_, _ = io.Copy(io.Discard, dc)
		_ = d.Close()
	} else if tc, ok := d.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0)
		_ = d.Close()
	}
	return c.Read()
}

// homeNames is alice's home listed on disk, temporary files included.
func (e *testEnv) homeNames() []string {
	names := listDirNames(e.t.(*testing.T), e.home())
	slices.Sort(names)
	return names
}

func wantNames(t *testing.T, e *testEnv, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := e.homeNames(); !slices.Equal(got, want) {
		t.Fatalf("home holds %v, want %v (no temporary file, no partial upload)", got, want)
	}
}

func wantContent(t *testing.T, e *testEnv, name string, want []byte) {
	t.Helper()
	got, err := e.readFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes that differ from the %d expected", name, len(got), len(want))
	}
}

// A STOR larger than the free space, over each data path (TLS, clear with
// the low-water mark, ASCII) and with and without fsync: 452, the temporary file is
// gone, the file it was to replace is intact, the session and other
// sessions go on, and once space is freed the same uploads work.
func TestDiskFullStore(t *testing.T) {
	paths := []struct {
		name      string
		prot, typ string
	}{
		{"PROT P TYPE I", "P", "I"},
		{"PROT C TYPE I", "C", "I"},
		{"PROT P TYPE A", "P", "A"},
	}
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("syncUploads=%v", sync), func(t *testing.T) {
			e := fullEnv(t, "size=2m", sync)
			old := randomBytes(t, 64<<10)
			big := randomBytes(t, 1<<20)
			small := randomBytes(t, 512<<10)
			for _, p := range paths {
				t.Run(p.name, func(t *testing.T) {
					e.emptyHome()
					e.writeFile("keep.bin", old)
					e.fill("filler.bin", 128<<10)

					c := e.dial(false)
					c.secure()
					c.Must("PROT "+p.prot, 200)
					c.Must("TYPE "+p.typ, 200)
					other := e.dial(false)
					other.secure()
					other.Must("TYPE I", 200)

					// Another session is served while the upload fills the disk.
					code, text := c.storeCut("STOR keep.bin", big, p.prot == "P", func() {
						got, code, text := other.Transfer("RETR keep.bin", nil, true)
						if code != 226 || !bytes.Equal(got, old) {
							t.Errorf("RETR in another session during the upload: %d %q, %d bytes", code, text, len(got))
						}
						other.Must("NOOP", 200)
					})
					if code != 452 || !strings.Contains(text, "Insufficient storage") {
						t.Fatalf("STOR over a full disk: %d %q, want 452 Insufficient storage", code, text)
					}
					wantContent(t, e, "keep.bin", old)
					wantNames(t, e, "filler.bin", "keep.bin")
					c.Must("NOOP", 200)

					// A new name fails the same way and leaves nothing.
					code, text = c.storeCut("STOR new.bin", small, p.prot == "P", nil)
					mustCode(t, "STOR new.bin while full", code, text, 452)
					wantNames(t, e, "filler.bin", "keep.bin")

					// Freeing space from the same session makes room.
					c.Must("DELE filler.bin", 250)
					c.Must("TYPE I", 200)
					if _, code, text := c.Transfer("STOR new.bin", small, p.prot == "P"); code != 226 {
						t.Fatalf("STOR after DELE: %d %q", code, text)
					}
					wantContent(t, e, "new.bin", small)
					if _, code, text := c.Transfer("STOR keep.bin", big, p.prot == "P"); code != 226 {
						t.Fatalf("STOR keep.bin after DELE: %d %q", code, text)
					}
					wantContent(t, e, "keep.bin", big)
					wantNames(t, e, "keep.bin", "new.bin")
					other.Must("NOOP", 200)
				})
			}
		})
	}
}

// APPE is all or nothing: the existing file and the new data go to a
// temporary file that replaces the original only once complete. So an APPE
// needs room for a whole copy of the file plus the new data; when that room
// is lacking the reply is 452 and the file is exactly as before (never a
// half-appended tail). REST+STOR behaves the same way.
func TestDiskFullAppend(t *testing.T) {
	e := fullEnv(t, "size=2m", true)
	old := randomBytes(t, 512<<10)
	tail := randomBytes(t, 16<<10)
	e.writeFile("log.bin", old)
	e.fill("filler.bin", 256<<10)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)

	code, text := c.storeCut("APPE log.bin", tail, true, nil)
	mustCode(t, "APPE needing more than the free space", code, text, 452)
	wantContent(t, e, "log.bin", old)
	wantNames(t, e, "filler.bin", "log.bin")

	// REST near the end: the first 500000 bytes are copied first.
	c.Must("REST 500000", 350)
	code, text = c.storeCut("STOR log.bin", tail, true, nil)
	mustCode(t, "REST+STOR needing more than the free space", code, text, 452)
	wantContent(t, e, "log.bin", old)
	wantNames(t, e, "filler.bin", "log.bin")

	c.Must("DELE filler.bin", 250)
	if _, code, text := c.Transfer("APPE log.bin", tail, true); code != 226 {
		t.Fatalf("APPE after DELE: %d %q", code, text)
	}
	wantContent(t, e, "log.bin", append(slices.Clone(old), tail...))
	wantNames(t, e, "log.bin")
}

// No inode left: MKD gets 550 (RFC 959 lists no 452 for MKD), STOR 452 (the
// temporary file cannot be created), and deleting a file makes room.
func TestDiskFullInodes(t *testing.T) {
	e := fullEnv(t, "size=2m,nr_inodes=32", true)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	var made []string
	for i := range 100 {
		name := fmt.Sprintf("f%02d", i)
		err := os.WriteFile(filepath.Join(e.home(), name), nil, 0o644)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, name)
	}
	if len(made) == 0 || len(made) == 100 {
		t.Fatalf("made %d files: the inode limit did not bite", len(made))
	}

	code, text := c.Cmd("MKD dir")
	if code != 550 || !strings.Contains(text, "Insufficient storage") {
		t.Fatalf("MKD with no inode left: %d %q, want 550 Insufficient storage", code, text)
	}
	code, text = c.storeCut("STOR x.bin", []byte("data"), true, nil)
	mustCode(t, "STOR with no inode left", code, text, 452)
	wantNames(t, e, made...)
	c.Must("NOOP", 200)

	c.Must("DELE "+made[0], 250)
	c.Must("MKD dir", 257)
	c.Must("DELE "+made[1], 250)
	if _, code, text := c.Transfer("STOR x.bin", []byte("data"), true); code != 226 {
		t.Fatalf("STOR after DELE: %d %q", code, text)
	}
	wantContent(t, e, "x.bin", []byte("data"))
}

// A file larger than the process may write (RLIMIT_FSIZE: EFBIG, the error
// a per-file limit gives) is 552, "exceeded storage allocation", and leaves
// the file it was to replace intact. Go ignores SIGXFSZ, so the write fails
// instead of killing the process.
func TestDiskFullFileTooLarge(t *testing.T) {
	e := newEnv(t, envOpt{})
	old := []byte("the previous version")
	e.writeFile("big.bin", old)
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)

	var saved syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &saved); err != nil {
		t.Fatal(err)
	}
	limited := saved
	limited.Cur = 256 << 10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Fatalf("setrlimit RLIMIT_FSIZE: %v", err)
	}
	code, text := c.storeCut("STOR big.bin", randomBytes(t, 1<<20), true, nil)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &saved); err != nil {
		t.Fatalf("restore RLIMIT_FSIZE: %v", err)
	}
	mustCode(t, "STOR beyond the file size limit", code, text, 552)
	wantContent(t, e, "big.bin", old)
	wantNames(t, e, "big.bin")
	c.Must("NOOP", 200)
}

// The replies for errors that show at fsync or close (write-back caching,
// network file systems), which a tmpfs never returns there: never 226, and
// the same codes as when a write fails.
func TestDiskFullReplyMapping(t *testing.T) {
	for _, v := range []struct {
		err  error
		code int
		mkd  int
	}{
		{&fs.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}, 452, 550},
		{&fs.PathError{Op: "sync", Path: "f", Err: syscall.ENOSPC}, 452, 550},
		{&fs.PathError{Op: "close", Path: "f", Err: syscall.ENOSPC}, 452, 550},
		{&fs.PathError{Op: "sync", Path: "f", Err: syscall.EDQUOT}, 552, 550},
		{&fs.PathError{Op: "write", Path: "f", Err: syscall.EFBIG}, 552, 552},
		{&fs.PathError{Op: "splice", Path: "f", Err: os.NewSyscallError("splice", syscall.ENOSPC)}, 452, 550},
		{&fs.PathError{Op: "sync", Path: "f", Err: syscall.EIO}, 451, 451},
	} {
		var re *replyError
		if !errors.As(localErr(v.err), &re) || re.r.code != v.code {
			t.Errorf("localErr(%v) = %v, want %d", v.err, localErr(v.err), v.code)
		}
		if !errors.As(mkdirErr(v.err), &re) || re.r.code != v.mkd {
			t.Errorf("mkdirErr(%v) = %v, want %d", v.err, mkdirErr(v.err), v.mkd)
		}
	}
}
