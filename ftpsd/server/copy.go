package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

const (
	bufSize = 256 << 10
	// chunk is how much one sendfile/splice call may move before the data
	// deadline is pushed forward: a stalled peer is cut off after
	// limits.dataTimeout without progress.
	chunk = 1 << 20
)

// bufPool holds transfer buffers so that a transfer allocates none per block.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// progressConn pushes the data deadline forward as data flows and counts
// bytes (TLS data connections, where sendfile does not apply anyway). The
// deadline moves at most every timeout/deadlineSteps rather than on every
// 16 KiB TLS record, so a stalled peer is cut off between 15/16 of the data
// timeout and the data timeout after its last progress.
type progressConn struct {
	c       net.Conn
	t       *transfer
	timeout time.Duration
	// When the read and write deadlines are next due to move.
	readAt, writeAt time.Time
}

const deadlineSteps = 16

// due reports whether the deadline tracked by at must move now, and moves at.
func (p *progressConn) due(at *time.Time) (time.Time, bool) {
	now := time.Now()
	if now.Before(*at) {
		return now, false
	}
	*at = now.Add(p.timeout / deadlineSteps)
	return now, true
}

func (p *progressConn) Read(b []byte) (int, error) {
	if now, ok := p.due(&p.readAt); ok {
		_ = p.c.SetReadDeadline(now.Add(p.timeout))
	}
	n, err := p.c.Read(b)
	p.t.bytes.Add(int64(n))
	if err != nil && err != io.EOF {
		err = &dataConnError{err}
	}
	return n, err
}

func (p *progressConn) Write(b []byte) (int, error) {
	if now, ok := p.due(&p.writeAt); ok {
		_ = p.c.SetWriteDeadline(now.Add(p.timeout))
	}
	n, err := p.c.Write(b)
	p.t.bytes.Add(int64(n))
	if err != nil {
		err = &dataConnError{err}
	}
	return n, err
}

// dataConnError marks a failure of the data connection (426), as opposed to
// a failure of the file system (451/452).
type dataConnError struct{ err error }

func (e *dataConnError) Error() string { return "data connection: " + e.err.Error() }
func (e *dataConnError) Unwrap() error { return e.err }

// onlyReader and onlyWriter hide ReaderFrom/WriterTo so that io.CopyBuffer
// uses our pooled buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// copyOut sends f to the data connection.
func (s *session) copyOut(t *transfer, conn net.Conn, f *os.File, typ byte) error {
	timeout := s.cfg.Limits.DataTimeout.Duration
	if tcp, ok := conn.(*net.TCPConn); ok && typ == 'I' {
		// PROT C, TYPE I: plain copies between the file and the socket, so
		// that the kernel uses sendfile.
		for {
			_ = tcp.SetWriteDeadline(time.Now().Add(timeout))
			n, err := io.CopyN(tcp, f, chunk)
			t.bytes.Add(n)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	w := &progressConn{c: conn, t: t, timeout: timeout}
	if typ == 'A' {
		return asciiOut(w, f, *bp)
	}
	_, err := io.CopyBuffer(onlyWriter{w}, onlyReader{f}, *bp)
	return err
}

// copyIn receives the data connection into f. End of stream is the end of
// the file (MODE S). A TLS peer that closes without close_notify is accepted
// as end of file too, as other FTPS servers do: FTP has no length framing.
// With sync, the kernel is asked to start writing the data to disk as it
// arrives (see writeback), so that the fsync after it has little left to do.
func (s *session) copyIn(t *transfer, f *os.File, conn net.Conn, typ byte, sync bool) error {
	timeout := s.cfg.Limits.DataTimeout.Duration
	wb := writeback{f: f, on: sync}
	var err error
	if tcp, ok := conn.(*net.TCPConn); ok && typ == 'I' {
		for {
			_ = tcp.SetReadDeadline(time.Now().Add(timeout))
			var n int64
			n, err = f.ReadFrom(io.LimitReader(tcp, chunk)) // splice on Linux
			t.bytes.Add(n)
			wb.wrote(n)
			if err != nil || n < chunk {
				break
			}
		}
	} else {
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		r := &progressConn{c: conn, t: t, timeout: timeout}
		if typ == 'A' {
			err = asciiIn(f, r, *bp)
		} else {
			err = fillCopy(f, r, *bp, &wb)
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) && !t.aborted.Load() {
		err = nil
	}
	var oe *net.OpError
	var de *dataConnError
	if err != nil && !errors.As(err, &oe) && !errors.As(err, &de) && !t.aborted.Load() {
		return localErr(err)
	}
	return err
}

// fillCopy copies r to f until EOF. A TLS connection returns at most one
// record (16 KiB) per Read, so buf is filled by several reads before each
// write: one file write per buffer instead of one per record.
func fillCopy(f *os.File, r io.Reader, buf []byte, wb *writeback) error {
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			wb.wrote(int64(n))
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF) || (errors.Is(rerr, io.ErrUnexpectedEOF) && n > 0):
			// ReadFull's EOF (nothing read) or its short last buffer.
			return nil
		default:
			return rerr
		}
	}
}

// writebackChunk is how much upload data accumulates before its writeback
// to disk is started.
const writebackChunk = 8 << 20

// writeback starts the kernel's writeback of an upload's data every
// writebackChunk bytes, without waiting for it: the disk then writes while
// the network still delivers, instead of all at once in the final fsync.
type writeback struct {
	f       *os.File
	on      bool
	pending int64 // bytes written since the last start
}

func (w *writeback) wrote(n int64) {
	if !w.on {
		return
	}
	w.pending += n
	if w.pending >= writebackChunk {
		startWriteback(w.f)
		w.pending = 0
	}
}

// asciiOut converts LF to CRLF (TYPE A, local text files use LF).
func asciiOut(w io.Writer, r io.Reader, buf []byte) error {
	in, out := buf[:len(buf)/3], buf[len(buf)/3:]
	for {
		n, rerr := r.Read(in)
		o := out[:0]
		for _, c := range in[:n] {
			if c == '\n' {
				o = append(o, '\r')
			}
			o = append(o, c)
		}
		if len(o) > 0 {
			if _, err := w.Write(o); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// asciiIn converts CRLF to LF; a lone CR is kept.
func asciiIn(w io.Writer, r io.Reader, buf []byte) error {
	in, out := buf[:len(buf)/2], buf[len(buf)/2:]
	pendingCR := false
	for {
		n, rerr := r.Read(in)
		o := out[:0]
		for _, c := range in[:n] {
			if pendingCR {
				pendingCR = false
				if c != '\n' {
					o = append(o, '\r')
				}
			}
			if c == '\r' {
				pendingCR = true
				continue
			}
			o = append(o, c)
		}
		if len(o) > 0 {
			if _, err := w.Write(o); err != nil {
				return err
			}
		}
		if rerr != nil {
			if pendingCR {
				if _, err := w.Write([]byte{'\r'}); err != nil {
					return err
				}
			}
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
	}
}
