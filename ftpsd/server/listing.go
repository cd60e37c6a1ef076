package server

import (
	"bufio"
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
			// A folder opened in an os.Root reads each entry's Lstat along
			// with its name (fstatat on the folder's descriptor), so Info
			// costs no system call. Only symlinks need a Stat of their own,
			// which the Root confines to the home.
			fi, serr := e.Info()
			if serr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				fi, serr = home.Stat(path.Join(rel, e.Name()))
			}
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

// appendPadded appends n right-aligned in a field of width characters.
func appendPadded(b []byte, n int64, width int) []byte {
	var num [20]byte
	d := strconv.AppendInt(num[:0], n, 10)
	for i := len(d); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// appendLsLine appends one entry formatted the way `ls -l` does.
func appendLsLine(b []byte, e listEntry, now time.Time) []byte {
	mode := e.fi.Mode()
	switch {
	case mode.IsDir():
		b = append(b, 'd')
	case mode&fs.ModeSymlink != 0:
		b = append(b, 'l')
	default:
		b = append(b, '-')
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if mode.Perm()&(1<<(8-i)) == 0 {
			b = append(b, '-')
		} else {
			b = append(b, rwx[i])
		}
	}
	b = append(b, " 1 ftp ftp "...)
	b = appendPadded(b, e.fi.Size(), 13)
	b = append(b, ' ')
	mt := e.fi.ModTime()
	if now.Sub(mt) > 182*24*time.Hour || mt.After(now.Add(time.Hour)) {
		b = mt.AppendFormat(b, "Jan _2  2006")
	} else {
		b = mt.AppendFormat(b, "Jan _2 15:04")
	}
	b = append(b, ' ')
	return append(b, e.name...)
}

// lsLine formats one entry the way `ls -l` does.
func lsLine(e listEntry, now time.Time) string { return string(appendLsLine(nil, e, now)) }

// appendMlsxFacts appends the RFC 3659 facts of an entry, with perm from
// the user's permissions.
func appendMlsxFacts(b []byte, e listEntry, u *users.User) []byte {
	if e.fi.IsDir() {
		b = append(b, "type=dir;size="...)
	} else {
		b = append(b, "type=file;size="...)
	}
	b = strconv.AppendInt(b, e.fi.Size(), 10)
	b = append(b, ";modify="...)
	b = e.fi.ModTime().UTC().AppendFormat(b, mlsxTime)
	b = append(b, ";perm="...)
	facts := filePermFacts
	if e.fi.IsDir() {
		facts = dirPermFacts
		b = append(b, 'e')
	}
	for _, f := range facts {
		if u.Can(f.perm) {
			b = append(b, f.facts...)
		}
	}
	b = append(b, ';')
	return appendUniqueFact(b, e.fi)
}

// mlsxFacts formats the RFC 3659 facts of an entry.
func mlsxFacts(e listEntry, u *users.User) string { return string(appendMlsxFacts(nil, e, u)) }

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
func (s *session) sendListing(verb, arg string, dirOnly bool) {
	virt, rel, fi, ok := s.listTarget(arg)
	if !ok {
		return
	}
	if dirOnly && !fi.IsDir() {
		s.reply(rFileUnavailable, "Not a directory")
		return
	}
	home, u, now := s.home, s.user, time.Now()
	s.startTransfer(true, verb+" "+virt, "Opening ASCII mode data connection for "+verb+" "+virt,
		func(t *transfer, conn net.Conn) error {
			w := bufio.NewWriterSize(&progressConn{c: conn, t: t, timeout: s.cfg.Limits.DataTimeout.Duration, bulk: bulkOf(conn)}, 32<<10)
			var err error
			if fi.IsDir() {
				err = writeListing(w, home, rel, verb, u, now)
			} else {
				err = writeEntry(w, verb, listEntry{name: path.Base(virt), fi: fi}, u, now)
			}
			if err != nil {
				return err
			}
			return w.Flush()
		})
}

// writeListing writes the listing of the folder rel in the format of verb
// (LIST, NLST or MLSD).
func writeListing(w *bufio.Writer, home *os.Root, rel, verb string, u *users.User, now time.Time) error {
	return listDir(home, rel, func(e listEntry) error { return writeEntry(w, verb, e, u, now) })
}

// writeEntry writes one line of a listing.
func writeEntry(w *bufio.Writer, verb string, e listEntry, u *users.User, now time.Time) error {
	// Formatted straight into the writer's free space: no allocation per
	// entry (Write copies it when the buffer must be flushed first).
	b := w.AvailableBuffer()
	switch verb {
	case "LIST":
		b = appendLsLine(b, e, now)
	case "MLSD":
		b = appendMlsxFacts(b, e, u)
		b = append(b, ' ')
		b = append(b, e.name...)
	default:
		b = append(b, e.name...)
	}
	b = append(b, '\r', '\n')
	_, err := w.Write(b)
	return err
}

func (s *session) cmdLIST(arg string) { s.sendListing("LIST", listingArg(arg), false) }
func (s *session) cmdNLST(arg string) { s.sendListing("NLST", listingArg(arg), false) }
func (s *session) cmdMLSD(arg string) { s.sendListing("MLSD", strings.TrimSpace(arg), true) }

func (s *session) cmdMLST(arg string) {
	virt, _, fi, ok := s.listTarget(strings.TrimSpace(arg))
	if !ok {
		return
	}
	s.replyLines(rFileOK.code, "Listing "+virt, []string{mlsxFacts(listEntry{name: virt, fi: fi}, s.user) + " " + virt}, "End")
}

// statPath answers STAT <path> on the control connection (213, ls -l form).
func (s *session) statPath(arg string) {
	// STAT lists only with an argument, so its permission is checked here,
	// not by the command table.
	if d := permitted(s.user, needList); !d.allow {
		s.answer(d)
		return
	}
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
