package server

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

const mlsxTime = "20060102150405"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// listEntry is one name of a listing with what Stat (following symlinks
// inside the home) says about it.
type listEntry struct {
	name string
	fi   fs.FileInfo
}

// maxListBatch bounds how many directory entries are read at once.
const maxListBatch = 1024

// listDir streams the visible entries of dir to fn. Entries whose Stat
// fails (dangling symlinks, or links leading out of the home) are skipped.
func listDir(home *os.Root, rel string, fn func(listEntry) error) error {
	d, err := home.Open(rel)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(maxListBatch)
		for _, e := range ents {
			if hiddenName(e.Name()) {
				continue
			}
			fi, serr := home.Stat(path.Join(rel, e.Name()))
			if serr != nil {
				continue
			}
			if ferr := fn(listEntry{name: e.Name(), fi: fi}); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF || (err == nil && len(ents) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// lsLine formats one entry the way `ls -l` does.
func lsLine(e listEntry, now time.Time) string {
	mode := e.fi.Mode()
	kind := byte('-')
	if mode.IsDir() {
		kind = 'd'
	} else if mode&fs.ModeSymlink != 0 {
		kind = 'l'
	}
	perm := []byte("rwxrwxrwx")
	for i := range 9 {
		if mode.Perm()&(1<<(8-i)) == 0 {
			perm[i] = '-'
		}
	}
	mt := e.fi.ModTime()
	stamp := mt.Format("Jan _2 15:04")
	if now.Sub(mt) > 182*24*time.Hour || mt.After(now.Add(time.Hour)) {
		stamp = mt.Format("Jan _2  2006")
	}
	return fmt.Sprintf("%c%s 1 ftp ftp %13d %s %s", kind, perm, e.fi.Size(), stamp, e.name)
}

// mlsxFacts formats the RFC 3659 facts of an entry, with perm from the
// user's permissions.
func mlsxFacts(e listEntry, u *users.User) string {
	var b strings.Builder
	if e.fi.IsDir() {
		b.WriteString("type=dir;")
	} else {
		b.WriteString("type=file;")
	}
	fmt.Fprintf(&b, "size=%d;modify=%s;perm=", e.fi.Size(), e.fi.ModTime().UTC().Format(mlsxTime))
	facts, always := filePermFacts, ""
	if e.fi.IsDir() {
		facts, always = dirPermFacts, "e"
	}
	b.WriteString(always)
	for _, f := range facts {
		if u.Can(f.perm) {
			b.WriteString(f.facts)
		}
	}
	b.WriteString(";")
	if id := uniqueID(e.fi); id != "" {
		b.WriteString("unique=" + id + ";")
	}
	return b.String()
}

// listingArg drops ls-style options ("-la") that clients put before the path.
func listingArg(arg string) string {
	arg = strings.TrimSpace(arg)
	for strings.HasPrefix(arg, "-") {
		_, rest, _ := strings.Cut(arg, " ")
		arg = strings.TrimSpace(rest)
	}
	return arg
}

// listTarget resolves a listing argument and reports whether it is a folder;
// ok is false when it already replied.
func (s *session) listTarget(arg string) (virt, rel string, fi fs.FileInfo, ok bool) {
	if !s.permitted(users.PermList) {
		return "", "", nil, false
	}
	a := arg
	if a == "" {
		a = "."
	}
	virt, rel, ok = s.resolveVisible(a)
	if !ok {
		return "", "", nil, false
	}
	fi, err := s.home.Stat(rel)
	if err != nil {
		s.reply(rFileUnavailable, "No such file or directory")
		return "", "", nil, false
	}
	return virt, rel, fi, true
}

// sendListing runs a listing over the data connection, one line per entry.
func (s *session) sendListing(verb, arg string, dirOnly bool, line func(listEntry) string) {
	virt, rel, fi, ok := s.listTarget(arg)
	if !ok {
		return
	}
	if dirOnly && !fi.IsDir() {
		s.reply(rFileUnavailable, "Not a directory")
		return
	}
	home := s.home
	s.startTransfer(true, verb+" "+virt, "Opening ASCII mode data connection for "+verb+" "+virt,
		func(t *transfer, conn net.Conn) error {
			w := bufio.NewWriterSize(progressConn{c: conn, t: t, timeout: s.cfg.Limits.DataTimeout.Duration}, 32<<10)
			emit := func(e listEntry) error {
				_, err := w.WriteString(line(e) + "\r\n")
				return err
			}
			var err error
			if fi.IsDir() {
				err = listDir(home, rel, emit)
			} else {
				err = emit(listEntry{name: path.Base(virt), fi: fi})
			}
			if err != nil {
				return err
			}
			return w.Flush()
		})
}

func (s *session) cmdLIST(arg string) {
	now := time.Now()
	s.sendListing("LIST", listingArg(arg), false, func(e listEntry) string { return lsLine(e, now) })
}

func (s *session) cmdNLST(arg string) {
	s.sendListing("NLST", listingArg(arg), false, func(e listEntry) string { return e.name })
}

func (s *session) cmdMLSD(arg string) {
	u := s.user
	s.sendListing("MLSD", strings.TrimSpace(arg), true, func(e listEntry) string { return mlsxFacts(e, u) + " " + e.name })
}

func (s *session) cmdMLST(arg string) {
	virt, _, fi, ok := s.listTarget(strings.TrimSpace(arg))
	if !ok {
		return
	}
	s.replyLines(250, "Listing "+virt, []string{mlsxFacts(listEntry{name: virt, fi: fi}, s.user) + " " + virt}, "End")
}

// statPath answers STAT <path> on the control connection (213, ls -l form).
func (s *session) statPath(arg string) {
	_, rel, fi, ok := s.listTarget(listingArg(arg))
	if !ok {
		return
	}
	now := time.Now()
	var lines []string
	const maxStatLines = 10000
	if fi.IsDir() {
		_ = listDir(s.home, rel, func(e listEntry) error {
			if len(lines) >= maxStatLines {
				return io.EOF
			}
			lines = append(lines, lsLine(e, now))
			return nil
		})
	} else {
		lines = append(lines, lsLine(listEntry{name: path.Base(rel), fi: fi}, now))
	}
	s.replyLines(rFileStatus.code, "Status of "+arg+":", lines, "End of status")
}

// permFact is the RFC 3659 perm fact letters one permission grants.
type permFact struct {
	perm  users.Permission
	facts string
}

// The perm facts of a folder ("e", enter, always) and of a file, in the
// order RFC 3659 section 7.5.5 lists them.
var (
	dirPermFacts = []permFact{
		{users.PermList, "l"}, {users.PermWrite, "c"}, {users.PermMakeDir, "m"},
		{users.PermDelete, "dp"}, {users.PermRename, "f"},
	}
	filePermFacts = []permFact{
		{users.PermRead, "r"}, {users.PermWrite, "aw"}, {users.PermDelete, "d"}, {users.PermRename, "f"},
	}
)
