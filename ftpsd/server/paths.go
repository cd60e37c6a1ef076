package server

import (
	"path"
	"strings"
	"unicode/utf8"
)

// resolve turns a client path into the virtual path shown to the client
// ("/" is the home) and the name relative to the home's os.Root ("." for the
// home itself). Cleaning under "/" drops every ".." that would climb above
// the home; os.Root refuses symlinks that lead outside it.
func (s *session) resolve(arg string) (virt, rel string) {
	p := strings.ReplaceAll(arg, `\`, "/")
	if !strings.HasPrefix(p, "/") {
		p = s.cwd + "/" + p
	}
	virt = path.Clean("/" + p)
	rel = strings.TrimPrefix(virt, "/")
	if rel == "" {
		rel = "."
	}
	return virt, rel
}

// hiddenName reports whether a folder entry is left out of listings: one of
// ftpsd's temporary upload files, or a name that no client could send back
// (see nameEncodable), created on the volume by something else than ftpsd.
func hiddenName(name string) bool {
	return strings.HasPrefix(name, tempPrefix) || !nameEncodable(name)
}

// nameEncodable reports whether a path fits the protocol: UTF-8, as RFC 2640
// makes pathnames (FEAT announces UTF8, and RFC 3659 listings are UTF-8),
// and no CR or LF, which end a command line or a listing line.
func nameEncodable(p string) bool {
	return utf8.ValidString(p) && !strings.ContainsAny(p, "\r\n")
}

// resolveVisible is resolve that refuses (553) the names of temporary files
// and empty or NUL-carrying names, and (501) paths that are not valid UTF-8;
// ok is false when it replied.
func (s *session) resolveVisible(arg string) (virt, rel string, ok bool) {
	if !nameEncodable(arg) {
		// 501 rather than 553: RFC 959 lists 501 for every command that
		// takes a path, 553 only for those that create a file.
		s.reply(rSyntax, "path is not valid UTF-8 (RFC 2640) or holds CR or LF")
		return "", "", false
	}
	if arg == "" || strings.IndexByte(arg, 0) >= 0 {
		s.reply(rBadFileName, "File name not allowed")
		return "", "", false
	}
	virt, rel = s.resolve(arg)
	for _, el := range strings.Split(rel, "/") {
		if hiddenName(el) {
			s.reply(rBadFileName, "File name not allowed")
			return "", "", false
		}
	}
	return virt, rel, true
}

// quotePath quotes a path for a 257 reply (RFC 959: double the quotes).
func quotePath(p string) string { return `"` + strings.ReplaceAll(p, `"`, `""`) + `"` }

func (s *session) cmdPWD(string) {
	s.reply(rPathCreated, quotePath(s.cwd)+" is the current directory")
}

func (s *session) cmdCWD(arg string) {
	virt, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	fi, err := s.home.Stat(rel)
	if err != nil || !fi.IsDir() {
		s.reply(rFileUnavailable, "No such directory")
		return
	}
	s.cwd = virt
	s.reply(rFileOK, "Directory changed to "+virt)
}

func (s *session) cmdCDUP(string) {
	virt, rel := s.resolve("..")
	if fi, err := s.home.Stat(rel); err != nil || !fi.IsDir() {
		s.reply(rFileUnavailable, "No such directory")
		return
	}
	s.cwd = virt
	s.reply(rOK, "Directory changed to "+virt)
}

func (s *session) cmdMKD(arg string) {
	virt, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	if err := s.home.Mkdir(rel, 0o755); err != nil {
		s.replyLocal(mkdirErr(err))
		return
	}
	s.reply(rPathCreated, quotePath(virt)+" created")
}

func (s *session) cmdRMD(arg string) {
	_, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	if rel == "." {
		s.reply(rFileUnavailable, "Cannot remove the home directory")
		return
	}
	fi, err := s.home.Lstat(rel)
	if err != nil || !fi.IsDir() {
		s.reply(rFileUnavailable, "Not a directory")
		return
	}
	if err := s.home.Remove(rel); err != nil {
		s.reply(rFileUnavailable, "Directory not empty or not removable")
		return
	}
	s.reply(rFileOK, "Directory removed")
}

func (s *session) cmdDELE(arg string) {
	_, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	fi, err := s.home.Lstat(rel)
	if err != nil || fi.IsDir() {
		s.reply(rFileUnavailable, "Not a file")
		return
	}
	if err := s.home.Remove(rel); err != nil {
		s.replyLocal(err)
		return
	}
	s.reply(rFileOK, "File deleted")
}

func (s *session) cmdRNFR(arg string) {
	virt, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	if rel == "." {
		s.reply(rFileUnavailable, "Cannot rename the home directory")
		return
	}
	if _, err := s.home.Lstat(rel); err != nil {
		s.reply(rFileUnavailable, "No such file or directory")
		return
	}
	s.renameFrom = virt
	s.reply(rRNFROK)
}

func (s *session) cmdRNTO(arg string) {
	from := s.renameFrom
	s.renameFrom = ""
	if from == "" {
		s.reply(rBadSequence, "send RNFR first")
		return
	}
	_, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	if rel == "." {
		s.reply(rBadFileName, "Not a valid target name")
		return
	}
	_, fromRel := s.resolve(from)
	if err := s.home.Rename(fromRel, rel); err != nil {
		s.replyLocal(err)
		return
	}
	s.reply(rFileOK, "Renamed")
}

func (s *session) cmdSIZE(arg string) {
	_, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	fi, err := s.home.Stat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		s.reply(rFileUnavailable, "Not a plain file")
		return
	}
	// The size on disk, in both TYPEs (as most servers answer): computing the
	// TYPE A size would mean reading the whole file.
	s.reply(rFileStatus, itoa(fi.Size()))
}

func (s *session) cmdMDTM(arg string) {
	_, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	fi, err := s.home.Stat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		s.reply(rFileUnavailable, "Not a plain file")
		return
	}
	s.reply(rFileStatus, fi.ModTime().UTC().Format(mlsxTime))
}

func (s *session) replyLocal(err error) {
	re := localErr(err).(*replyError)
	s.reply(re.r, re.args...)
}
