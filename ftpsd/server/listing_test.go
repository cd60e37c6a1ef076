package server

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

type fakeInfo struct {
	mode fs.FileMode
	size int64
	mt   time.Time
}

func (f fakeInfo) Name() string       { return "x" }
func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return f.mt }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

// TestListingLineFormats pins the LIST and MLSD line formats.
func TestListingLineFormats(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	u := &users.User{Username: "alice", Permissions: []users.Permission{users.PermList, users.PermRead, users.PermDelete}}
	for _, tc := range []struct {
		fi                fakeInfo
		wantLS, wantFacts string
	}{
		{fakeInfo{0o644, 4096, now.Add(-time.Hour)}, "-rw-r--r-- 1 ftp ftp          4096 Nov 25 11:00 f", "type=file;size=4096;modify=20261125110000;perm=rd;"},
		{fakeInfo{fs.ModeDir | 0o755, 36864, now.AddDate(-1, 0, 0)}, "drwxr-xr-x 1 ftp ftp         36864 Nov 25  2025 f", "type=dir;size=36864;modify=20251125120000;perm=eldp;"},
		{fakeInfo{fs.ModeSymlink | 0o777, 1234567890123, now.Add(2 * time.Hour)}, "lrwxrwxrwx 1 ftp ftp 1234567890123 Nov 25  2026 f", "type=file;size=1234567890123;modify=20261125140000;perm=rd;"},
		{fakeInfo{0, 0, time.Date(2026, 7, 5, 9, 7, 0, 0, time.UTC)}, "---------- 1 ftp ftp             0 Jul  5 09:07 f", "type=file;size=0;modify=20260705090700;perm=rd;"},
	} {
		e := listEntry{name: "f", fi: tc.fi}
		if got := lsLine(e, now); got != tc.wantLS {
			t.Errorf("lsLine:\n got %q\nwant %q", got, tc.wantLS)
		}
		if got := mlsxFacts(e, u); got != tc.wantFacts {
			t.Errorf("mlsxFacts:\n got %q\nwant %q", got, tc.wantFacts)
		}
	}
}
