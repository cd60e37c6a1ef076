package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// transfer is one running data transfer.
type transfer struct {
	desc    string
	done    chan struct{}
	aborted atomic.Bool
	// committed is set when an upload's data is in place under its name:
	// from then on its reply is 226, whatever abort comes after.
	committed atomic.Bool
	bytes     atomic.Int64

	mu    sync.Mutex
	conn  net.Conn
	setup dataSetup
}

func (t *transfer) setConn(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted.Load() {
		return false
	}
	t.conn = c
	return true
}

// abort stops the transfer from another goroutine: closing the data
// connection (or the passive listener still waiting) unblocks its I/O. A TLS
// data connection's socket is closed directly: an aborted transfer owes its
// peer no close_notify, and sending one would wait behind a write blocked
// on a client that stopped reading.
func (t *transfer) abort() {
	t.aborted.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tc, ok := t.conn.(*tls.Conn); ok {
		_ = tc.NetConn().Close()
	} else if t.conn != nil {
		_ = t.conn.Close()
	}
	if t.setup != nil {
		t.setup.close()
	}
}

// replyError carries the reply a failed transfer step sends.
type replyError struct {
	r    reply
	args []any
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%d %s", e.r.code, fmt.Sprintf(e.r.text, e.args...))
}

func replyErr(r reply, args ...any) error { return &replyError{r: r, args: args} }

// localErr maps a file-system error to its reply.
func localErr(err error) error {
	var re *replyError
	if errors.As(err, &re) {
		return err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return replyErr(rFileUnavailable, "No such file or directory")
	case errors.Is(err, fs.ErrPermission):
		return replyErr(rFileUnavailable, "Permission denied")
	case errors.Is(err, fs.ErrExist):
		return replyErr(rFileUnavailable, "File exists")
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		// The file system is full: 452 (RFC 959), a condition that may pass.
		return replyErr(rNoSpace)
	case errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG):
		// The user's quota, or the largest file size, is exceeded: 552.
		return replyErr(rQuotaExceeded)
	}
	return replyErr(rLocalError, "file system error")
}

// mkdirErr maps an MKD failure to its reply. RFC 959 (section 5.4) lists 550
// as MKD's only failure for the request itself, so a full file system is 550
// too, with the reason in the text, rather than the 452 of a transfer.
func mkdirErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return replyErr(rFileUnavailable, rNoSpace.text)
	}
	return localErr(err)
}

// activeXfer returns the running transfer, or nil (forgetting a finished one).
func (s *session) activeXfer() *transfer {
	if s.xfer == nil {
		return nil
	}
	select {
	case <-s.xfer.done:
		s.xfer = nil
		return nil
	default:
		return s.xfer
	}
}

func (s *session) waitTransfer() {
	if s.xfer != nil {
		<-s.xfer.done
		s.xfer = nil
	}
}

// startTransfer runs the checks every data command shares, sends the 150
// reply and starts work in the transfer goroutine, which sends the final
// reply (226, or 4xx/5xx). Protection is checked first: 521 before any 1xx.
func (s *session) startTransfer(listing bool, desc string, opening string, work func(t *transfer, conn net.Conn) error) {
	// Busy before the check: Shutdown, which sets closing and then looks at
	// xferActive, either sees this transfer or makes this check fail.
	s.xferActive.Store(true)
	if s.srv.closing.Load() {
		s.xferActive.Store(false)
		s.reply(rShutdown)
		s.end("shutdown")
		return
	}
	if d := dataProtection(s.cfg.Policy.Data.Protection, s.state(), listing); !d.allow {
		verb, _, _ := strings.Cut(desc, " ")
		s.srv.metrics.Transfer(verb, d.reason, false, 0)
		s.xferActive.Store(false)
		s.answer(d)
		return
	}
	if s.data == nil {
		s.xferActive.Store(false)
		s.reply(rCantOpenData, "send PASV or EPSV first")
		return
	}
	setup := s.data
	s.data = nil
	s.restOffset = 0
	t := &transfer{desc: desc, done: make(chan struct{}), setup: setup}
	s.xfer = t
	s.running.Store(t)
	s.xferActive.Store(true)
	s.srv.transfers.Add(1)
	s.writeReply(rDataOpening.code, opening)
	go s.runTransfer(t, setup, work)
}

func (s *session) runTransfer(t *transfer, setup dataSetup, work func(t *transfer, conn net.Conn) error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in transfer", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.replyNow(rLocalError)
		}
		s.running.CompareAndSwap(t, nil)
		s.xferEnded.Store(time.Now().UnixNano())
		s.xferActive.Store(false)
		s.srv.transfers.Add(-1)
		close(t.done)
	}()
	start := time.Now()
	result, tlsVersion, final, args := s.transferOnce(t, setup, work)
	// Logged and counted before the final reply, so that a client that
	// has its reply finds the transfer in the logs and metrics.
	s.logTransfer(t, start, result, tlsVersion)
	s.reply(final, args...)
}

// transferOnce opens the data connection and runs work on it; it returns the
// transfer-log result, the data connection's TLS version, and the final reply.
func (s *session) transferOnce(t *transfer, setup dataSetup, work func(t *transfer, conn net.Conn) error) (result, tlsVersion string, final reply, args []any) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.DataTimeout.Duration)
	conn, err := s.openData(ctx, setup)
	cancel()
	if err != nil {
		switch {
		case t.aborted.Load():
			return "aborted", "", rTransferAborted, nil
		case errors.Is(err, errDataTLS):
			s.log.Info("data connection refused", "transfer", t.desc, "error", err)
			return "refused", "", rDataTLSFailed, nil
		default:
			s.log.Info("data connection failed", "transfer", t.desc, "error", err)
			return "no_connection", "", rCantOpenData, []any{"no data connection"}
		}
	}
	if tc, ok := conn.(*tls.Conn); ok {
		tlsVersion = tls.VersionName(tc.ConnectionState().Version)
	}
	if !t.setConn(conn) {
		_ = conn.Close()
		return "aborted", tlsVersion, rTransferAborted, nil
	}
	err = work(t, conn)
	if err == nil {
		if tc, ok := conn.(*tls.Conn); ok {
			_ = tc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_ = tc.CloseWrite()
		}
	}
	_ = conn.Close()
	var re *replyError
	switch {
	case err == nil && t.committed.Load():
		return "ok", tlsVersion, rTransferDone, nil
	case t.aborted.Load():
		return "aborted", tlsVersion, rTransferAborted, nil
	case errors.As(err, &re):
		return "failed", tlsVersion, re.r, re.args
	case err != nil:
		s.log.Info("transfer failed", "transfer", t.desc, "error", err)
		return "failed", tlsVersion, rTransferAborted, nil
	}
	return "ok", tlsVersion, rTransferDone, nil
}

// abortTransfers ends the transfers still running once Shutdown's grace
// period is over, and waits (up to wait) until each has sent its final
// reply and removed its temporary file: 226 if its upload was already in
// place, 426 otherwise. Shutdown closes the sessions only after that, so
// that no client loses the 226 of an upload that is in place and no
// temporary file outlives the process.
func (s *Server) abortTransfers(wait time.Duration) {
	var running []*transfer
	for _, sess := range s.openSessions() {
		if t := sess.running.Load(); t != nil {
			t.abort()
			running = append(running, t)
		}
	}
	deadline := time.After(wait)
	for _, t := range running {
		select {
		case <-t.done:
		case <-deadline:
			return
		}
	}
}

// logTransfer writes the transfer log: one line per transfer, whatever its
// result, and counts it in the metrics.
func (s *session) logTransfer(t *transfer, start time.Time, result, tlsVersion string) {
	verb, p, _ := strings.Cut(t.desc, " ")
	upload := verb == "STOR" || verb == "APPE" || verb == "STOU"
	n := t.bytes.Load()
	s.srv.metrics.Transfer(verb, result, upload, n)
	prot := "clear"
	if s.prot == 'P' {
		prot = "private"
	}
	user := ""
	if s.user != nil {
		user = s.user.Username
	}
	s.log.Info("transfer",
		"start", start.UTC().Format(time.RFC3339Nano),
		"duration", time.Since(start).String(),
		"client", s.clientIP.String(),
		"user", user,
		"command", verb,
		"path", p,
		"bytes", n,
		"protection", prot,
		"tls", tlsVersion,
		"result", result)
}

func (s *session) cmdABOR(string) {
	t := s.activeXfer()
	if t == nil {
		if s.data != nil {
			s.closeData()
			s.reply(rAborNoTransfer)
			return
		}
		s.reply(rAborOK)
		return
	}
	t.abort()
	<-t.done
	s.xfer = nil
	s.reply(rAborOK)
}

func (s *session) cmdREST(arg string) {
	n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64)
	if err != nil || n < 0 {
		s.reply(rSyntax, "REST takes a byte offset")
		return
	}
	s.restOffset = n
	s.reply(rRESTOK, n)
}

func typeName(t byte) string {
	if t == 'A' {
		return "ASCII"
	}
	return "BINARY"
}

func (s *session) cmdRETR(arg string) {
	vp, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	home, typ, offset := s.home, s.typ, s.restOffset
	s.restOffset = 0 // consumed, whatever happens next
	fi, err := home.Stat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		s.reply(rFileUnavailable, "Not a plain file")
		return
	}
	if offset > fi.Size() {
		s.reply(rRestInvalid)
		return
	}
	s.startTransfer(false, "RETR "+vp, fmt.Sprintf("Opening %s mode data connection for %s (%d bytes)", typeName(typ), vp, fi.Size()-offset),
		func(t *transfer, conn net.Conn) error {
			f, err := home.Open(rel)
			if err != nil {
				return localErr(err)
			}
			defer f.Close()
			if offset > 0 {
				if _, err := f.Seek(offset, io.SeekStart); err != nil {
					return localErr(err)
				}
			}
			return s.copyOut(t, conn, f, typ)
		})
}

// tempPrefix marks ftpsd's upload files: hidden from listings, refused as names.
const tempPrefix = ".ftpsd-"

func tempName(rel string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return path.Join(path.Dir(rel), tempPrefix+"upload-"+hex.EncodeToString(b[:])+".tmp")
}

type storeMode int

const (
	storeReplace storeMode = iota
	storeAppend
	storeUnique
)

func (s *session) cmdSTOR(arg string) { s.store(arg, storeReplace) }
func (s *session) cmdAPPE(arg string) { s.store(arg, storeAppend) }
func (s *session) cmdSTOU(arg string) { s.store(arg, storeUnique) }

// store runs STOR, APPE and STOU. The data goes to a hidden temporary file in
// the target's folder, created only once the data connection (and its TLS
// handshake) is up, and renamed over the target on success: a reader never
// sees a half-written file, and a refused or aborted upload leaves nothing.
// APPE and REST+STOR first copy the existing file (all of it, or its first
// REST bytes) into the temporary file, then append the new data to it.
func (s *session) store(arg string, mode storeMode) {
	if mode == storeUnique {
		if strings.TrimSpace(arg) == "" {
			arg = "."
		}
		dirV, dirRel, ok := s.resolveVisible(arg)
		if !ok {
			return
		}
		if fi, err := s.home.Stat(dirRel); err != nil || !fi.IsDir() {
			// STOU with a file name: use it as the stem.
			arg = path.Join(path.Dir(dirV), "ftpsd-"+randomSuffix())
		} else {
			arg = path.Join(dirV, "ftpsd-"+randomSuffix())
		}
	}
	vp, rel, ok := s.resolveVisible(arg)
	if !ok {
		return
	}
	if rel == "." {
		s.reply(rBadFileName, "Not a file name")
		return
	}
	home, typ, offset, sync := s.home, s.typ, s.restOffset, s.cfg.SyncUploadsEnabled()
	s.restOffset = 0 // consumed, whatever happens next
	fi, err := home.Stat(rel)
	exists := err == nil
	if exists && !fi.Mode().IsRegular() {
		s.reply(rFileUnavailable, "Not a plain file")
		return
	}
	if mode == storeUnique && exists {
		s.reply(rFileUnavailable, "Could not find a unique name")
		return
	}
	if dfi, err := home.Stat(path.Dir(rel)); err != nil || !dfi.IsDir() {
		s.reply(rFileUnavailable, "No such directory")
		return
	}
	if mode == storeAppend {
		offset = 0
		if exists {
			offset = fi.Size()
		}
	} else if offset > 0 && (!exists || offset > fi.Size()) {
		s.reply(rRestInvalid)
		return
	}
	opening := fmt.Sprintf("Opening %s mode data connection for %s", typeName(typ), vp)
	if mode == storeUnique {
		opening = "FILE: " + path.Base(vp)
	}
	verb := map[storeMode]string{storeReplace: "STOR", storeAppend: "APPE", storeUnique: "STOU"}[mode]
	s.startTransfer(false, verb+" "+vp, opening, func(t *transfer, conn net.Conn) error {
		tmp := tempName(rel)
		f, err := home.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return localErr(err)
		}
		ok := false
		defer func() {
			if !ok {
				_ = f.Close()
				_ = home.Remove(tmp)
			}
		}()
		if offset > 0 {
			src, err := home.Open(rel)
			if err != nil {
				return localErr(err)
			}
			_, err = io.CopyN(f, src, offset)
			_ = src.Close()
			if err != nil {
				return localErr(err)
			}
		}
		if err := s.copyIn(t, f, conn, typ, sync); err != nil {
			return err
		}
		if t.aborted.Load() {
			return errors.New("aborted")
		}
		if sync {
			if err := f.Sync(); err != nil {
				return localErr(err)
			}
		}
		if err := f.Close(); err != nil {
			// With write-back caching a full disk may show only now.
			return localErr(err)
		}
		ok = true // closed; from here on only tmp needs removing
		// Commit under the transfer's lock: an abort (ABOR, a closed session)
		// either comes first and nothing is renamed, or finds the upload
		// committed and its reply is 226. Never a renamed file and a 426.
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.aborted.Load() {
			_ = home.Remove(tmp)
			return errors.New("aborted")
		}
		if mode == storeUnique {
			// Link refuses an existing name: never clobber under STOU.
			err = home.Link(tmp, rel)
			_ = home.Remove(tmp)
		} else {
			err = home.Rename(tmp, rel)
		}
		if err != nil {
			_ = home.Remove(tmp)
			return localErr(err)
		}
		t.committed.Store(true)
		return nil
	})
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
