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
	// chunk is how much one sendfile call may move before the data
	// deadline is pushed forward. A chunk that times out after moving some
	// bytes is a slow reader, not a stalled one: a stalled peer is cut off
	// after limits.dataTimeout without progress.
	chunk = 1 << 20
	// uploadLowWater is how many bytes must be queued on an upload's
	// socket before the kernel wakes ftpsd to read them (SO_RCVLOWAT, on
	// Linux): one transfer buffer. It took a sixth of ftpsd's CPU per byte
	// of a clear upload away, compared with a wake-up for every segment
	// (docs/benchmarks.md).
	uploadLowWater = bufSize
)

// bufPool holds transfer buffers so that a transfer allocates none per block.
var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// progressConn pushes the data deadline forward as data flows and counts
// bytes (all transfers but PROT C TYPE I downloads, which use sendfile). The
// deadline moves at most every timeout/deadlineSteps rather than on every
// 16 KiB TLS record, so a stalled peer is cut off between 15/16 of the data
// timeout and the data timeout after its last progress.
type progressConn struct {
	c       net.Conn
	t       *transfer
	timeout time.Duration
	// bulk, when set, gathers the TLS records of each Write into one
	// socket write (see bulkConn).
	bulk *bulkConn
	// low, when set, batches an upload's read wake-ups (see lowWater).
	low *lowWater
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
	if n == 0 && isTimeout(err) && p.low.trickling() {
		p.readAt = time.Now().Add(p.timeout / deadlineSteps)
		_ = p.c.SetReadDeadline(time.Now().Add(p.timeout))
		n, err = p.c.Read(b)
	}
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
	if p.bulk != nil {
		p.bulk.startGather()
	}
	n, err := p.c.Write(b)
	if p.bulk != nil {
		if ferr := p.bulk.flush(); err == nil && ferr != nil {
			n, err = 0, ferr
		}
	}
	p.t.bytes.Add(int64(n))
	if err != nil {
		err = &dataConnError{err}
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
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
	limitUnsent(conn)
	if tcp := clearTCP(conn); tcp != nil && typ == 'I' {
		// PROT C, TYPE I: plain copies between the file and the socket, so
		// that the kernel uses sendfile.
		for {
			_ = tcp.SetWriteDeadline(time.Now().Add(timeout))
			n, err := io.CopyN(tcp, f, chunk)
			t.bytes.Add(n)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if isTimeout(err) && n > 0 {
				continue // a slow reader: progress within the chunk's deadline
			}
			if err != nil {
				return err
			}
		}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	w := &progressConn{c: conn, t: t, timeout: timeout, bulk: bulkOf(conn)}
	if typ == 'A' {
		return asciiOut(w, f, *bp)
	}
	_, err := io.CopyBuffer(onlyWriter{w}, onlyReader{f}, *bp)
	return err
}

// copyIn receives the data connection into f. End of stream is the end of
// the file (MODE S). A TLS peer that closes without close_notify is accepted
// as end of file too, as other FTPS servers do: FTP has no length framing.
//
// Uploads are read into a buffer even under PROT C, not spliced: splice
// keeps the received pages in its pipe until they are written, and a sender
// on the same host then has to allocate new pages for every send. With
// reads, curl on loopback spent a third less CPU and uploaded faster, for
// the same CPU in ftpsd (docs/benchmarks.md).
func (s *session) copyIn(t *transfer, f *os.File, conn net.Conn, typ byte, sync bool) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	r := &progressConn{c: conn, t: t, timeout: s.cfg.Limits.DataTimeout.Duration}
	if clearTCP(conn) != nil {
		// The end of a clear upload is the client's close, which wakes the
		// reader at any low-water mark. Under TLS the mark is bulkConn's.
		r.low = raiseLowWater(conn)
	} else if b := bulkOf(conn); b != nil {
		b.startReadAhead(newLowWater(conn))
		defer b.stopReadAhead()
	}
	var err error
	if typ == 'A' {
		err = asciiIn(f, r, *bp)
	} else {
		u := newUploadFile(f, sync)
		if err = fillCopy(u, r, *bp); err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
			if ferr := u.finish(); ferr != nil {
				err = ferr
			}
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

// fillCopy copies r to u until EOF. A TLS connection returns at most one
// record (16 KiB) per Read, and a socket what has arrived, so buf is filled
// by several reads before each write: one file write per buffer.
func fillCopy(u *uploadFile, r io.Reader, buf []byte) error {
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := u.write(buf[:n]); err != nil {
				return err
			}
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
