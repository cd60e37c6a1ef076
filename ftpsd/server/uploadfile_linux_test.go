package server

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// allocated is the disk space f's blocks take.
func allocated(t *testing.T, f *os.File) int64 {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// An upload writes its data intact from its start offset; on ext4 it
// reserves space ahead of the data while it writes (elsewhere it reserves
// nothing), and finish gives back every reserved byte the data did not use.
func TestUploadFileReservesAndGivesBack(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	ext4 := st.Type == unix.EXT4_SUPER_MAGIC
	t.Logf("file system type %#x, ext4: %v", st.Type, ext4)

	for _, head := range []int{0, 1 << 20} { // STOR; APPE or REST after 1 MiB
		f, err := os.Create(filepath.Join(dir, "up.bin"))
		if err != nil {
			t.Fatal(err)
		}
		want := randomBytes(t, head+40<<20+12345)
		if _, err := f.Write(want[:head]); err != nil {
			t.Fatal(err)
		}
		u := newUploadFile(f, true)
		body := want[head:]
		const piece = bufSize
		reservedAhead := false
		for off := 0; off < len(body); off += piece {
			if err := u.write(body[off:min(off+piece, len(body))]); err != nil {
				t.Fatal(err)
			}
			if off == 24<<20 {
				// Past reserveAfter: on ext4 space is reserved beyond the data.
				ahead := allocated(t, f) - int64(head+off+piece)
				reservedAhead = ahead >= 1<<20
				t.Logf("head %d: %d bytes allocated beyond the data at 24 MiB", head, ahead)
			}
		}
		if reservedAhead != ext4 {
			t.Errorf("head %d: space reserved ahead: %v, want %v (ext4)", head, reservedAhead, ext4)
		}
		if err := u.finish(); err != nil {
			t.Fatal(err)
		}
		// What is left allocated is the data, rounded up to blocks, plus
		// at most a little metadata.
		if extra := allocated(t, f) - int64(len(want)); extra > 256<<10 {
			t.Errorf("head %d: %d bytes still allocated beyond the data after finish", head, extra)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || sha256.Sum256(got) != sha256.Sum256(want) || !bytes.Equal(got[:head], want[:head]) {
			t.Fatalf("head %d: file has %d bytes that differ from the %d written", head, len(got), len(want))
		}
		_ = f.Close()
	}
}
