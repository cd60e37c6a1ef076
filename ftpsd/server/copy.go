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

// progressConn refreshes the deadline before every read and write and counts
// bytes (TLS data connections, where sendfile does not apply anyway).
type progressConn struct {
	c       net.Conn
	t       *transfer
	timeout time.Duration
}

func (p progressConn) Read(b []byte) (int, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(p.timeout))
	n, err := p.c.Read(b)
	p.t.bytes.Add(int64(n))
	if err != nil && err != io.EOF {
		err = &dataConnError{err}
	}
	return n, err
}

func (p progressConn) Write(b []byte) (int, error) {
	_ = p.c.SetWriteDeadline(time.Now().Add(p.timeout))
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
	w := progressConn{c: conn, t: t, timeout: timeout}
	if typ == 'A' {
		return asciiOut(w, f, *bp)
	}
	_, err := io.CopyBuffer(onlyWriter{w}, onlyReader{f}, *bp)
	return err
}

// copyIn receives the data connection into f. End of stream is the end of
// the file (MODE S). A TLS peer that closes without close_notify is accepted
// as end of file too, as other FTPS servers do: FTP has no length framing.
func (s *session) copyIn(t *transfer, f *os.File, conn net.Conn, typ byte) error {
	timeout := s.cfg.Limits.DataTimeout.Duration
	var err error
	if tcp, ok := conn.(*net.TCPConn); ok && typ == 'I' {
		for {
			_ = tcp.SetReadDeadline(time.Now().Add(timeout))
			var n int64
			n, err = f.ReadFrom(io.LimitReader(tcp, chunk)) // splice on Linux
			t.bytes.Add(n)
			if err != nil || n < chunk {
				break
			}
		}
	} else {
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		r := progressConn{c: conn, t: t, timeout: timeout}
		if typ == 'A' {
			err = asciiIn(f, r, *bp)
		} else {
			_, err = io.CopyBuffer(onlyWriter{f}, onlyReader{r}, *bp)
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
