package server

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// bulkConn is the socket under a TLS data connection. crypto/tls makes one
// write system call per record, that is per 16 KiB at most. While a
// transfer writes, bulkConn gathers the records of each large Write and
// sends them with one system call: far fewer calls, larger TCP segments,
// and a quarter less CPU per byte sent (docs/benchmarks.md). Outside such a
// Write (handshake, alerts, close_notify) it writes straight through.
//
// crypto/tls also reads about one record per system call, and the kernel
// wakes the reader for every segment. During an upload bulkConn reads
// ahead: one read takes all that is queued, up to a transfer buffer, and
// once the upload has brought lowWaterAfter bytes the socket's low-water
// mark asks the kernel to wake ftpsd only when a transfer buffer's worth
// is queued. Together they took a third of ftpsd's CPU per byte of a PROT P
// upload away (docs/benchmarks.md).
type bulkConn struct {
	net.Conn

	// Reads, and read deadlines, come from the transfer's goroutine only,
	// one at a time (crypto/tls holds its input lock around reads).
	ahead              *[]byte // read-ahead buffer; nil: read through
	aheadFrom, aheadTo int     // the unread part of *ahead
	aheadErr           error   // the error that came with it
	// The socket's low-water mark (nil: none), whether it is up, and the
	// bytes read since it was last changed.
	low      *lowWater
	lowUp    bool
	lowSince int64
	// The read deadline the transfer asked for; the wait for the mark
	// may set an earlier one on the socket.
	readDeadline time.Time

	// Writes come from the transfer, and from tls.Conn.Close on another
	// goroutine when a transfer is aborted between two Writes.
	mu     sync.Mutex
	gather *[]byte // records held back until flush; nil: write through
}

// gatherSize holds one transfer buffer's worth of records: bufSize
// plaintext bytes plus each record's header and tag, with room to spare.
const gatherSize = bufSize + bufSize/16

var gatherPool = sync.Pool{New: func() any { b := make([]byte, 0, gatherSize); return &b }}

// bulkOf returns the bulkConn under a TLS data connection, or nil.
func bulkOf(c net.Conn) *bulkConn {
	if tc, ok := c.(*tls.Conn); ok {
		b, _ := tc.NetConn().(*bulkConn)
		return b
	}
	return nil
}

func (b *bulkConn) Read(p []byte) (int, error) {
	if b.aheadFrom < b.aheadTo {
		n := copy(p, (*b.ahead)[b.aheadFrom:b.aheadTo])
		b.aheadFrom += n
		if b.aheadFrom == b.aheadTo {
			err := b.aheadErr
			b.aheadErr = nil
			return n, err
		}
		return n, nil
	}
	if b.ahead == nil || len(p) >= len(*b.ahead) {
		return b.Conn.Read(p)
	}
	n, err := b.fill()
	m := copy(p, (*b.ahead)[:n])
	if m < n {
		// Keep the error until the bytes read with it are handed out.
		b.aheadFrom, b.aheadTo, b.aheadErr = m, n, err
		return m, nil
	}
	return m, err
}

const (
	// lowWaterAfter is how much an upload must have brought before the
	// low-water mark goes up: small uploads never wait for it.
	lowWaterAfter = 1 << 20
	// lowWaterWait is how long a read waits for the mark before it takes
	// what is queued. An upload's last bytes are below the mark, and a
	// client may send its close_notify and wait for ours before it closes
	// (Python's ftplib does): without this the upload would end only at
	// the data timeout.
	lowWaterWait = 5 * time.Millisecond
)

// fill reads what is queued into the read-ahead buffer.
func (b *bulkConn) fill() (int, error) {
	buf := *b.ahead
	if b.low != nil && !b.lowUp && b.lowSince >= lowWaterAfter && b.low.set(uploadLowWater) == nil {
		b.lowUp, b.lowSince = true, 0
	}
	if !b.lowUp {
		n, err := b.Conn.Read(buf)
		b.lowSince += int64(n)
		return n, err
	}
	wait := time.Now().Add(lowWaterWait)
	if !b.readDeadline.IsZero() && b.readDeadline.Before(wait) {
		wait = b.readDeadline
	}
	_ = b.Conn.SetReadDeadline(wait)
	n, err := b.Conn.Read(buf)
	if n == 0 && isTimeout(err) && (b.readDeadline.IsZero() || time.Now().Before(b.readDeadline)) {
		// Less than the mark came within lowWaterWait: take what is
		// there, and raise the mark again only after lowWaterAfter more.
		_ = b.low.set(1)
		b.lowUp, b.lowSince = false, 0
		_ = b.Conn.SetReadDeadline(b.readDeadline)
		n, err = b.Conn.Read(buf)
	}
	b.lowSince += int64(n)
	return n, err
}

func (b *bulkConn) SetReadDeadline(t time.Time) error {
	b.readDeadline = t
	return b.Conn.SetReadDeadline(t)
}

func (b *bulkConn) SetDeadline(t time.Time) error {
	b.readDeadline = t
	return b.Conn.SetDeadline(t)
}

// startReadAhead makes reads take all that is queued, up to a transfer
// buffer, and, with low set, paces them with the socket's low-water mark.
// Called by the transfer's goroutine before it reads.
func (b *bulkConn) startReadAhead(low *lowWater) {
	if b.ahead == nil {
		buf := gatherPool.Get().(*[]byte)
		*buf = (*buf)[:cap(*buf)]
		b.ahead = buf
	}
	b.low, b.lowUp, b.lowSince = low, false, 0
}

// stopReadAhead gives the read-ahead buffer back, drops what it holds and
// returns the socket to its own mark and deadline: called by the
// transfer's goroutine once it has stopped reading.
func (b *bulkConn) stopReadAhead() {
	if b.lowUp {
		_ = b.low.set(1)
		_ = b.Conn.SetReadDeadline(b.readDeadline)
	}
	b.low, b.lowUp = nil, false
	if b.ahead != nil {
		*b.ahead = (*b.ahead)[:0]
		gatherPool.Put(b.ahead)
		b.ahead, b.aheadFrom, b.aheadTo, b.aheadErr = nil, 0, 0, nil
	}
}

func (b *bulkConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gather == nil {
		return b.Conn.Write(p)
	}
	if len(*b.gather)+len(p) > cap(*b.gather) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(*b.gather) {
			return b.Conn.Write(p)
		}
	}
	*b.gather = append(*b.gather, p...)
	return len(p), nil
}

// startGather holds back the records written from now until flush.
func (b *bulkConn) startGather() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gather == nil {
		b.gather = gatherPool.Get().(*[]byte)
	}
}

// flush writes what was gathered and returns to writing through.
func (b *bulkConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gather == nil {
		return nil
	}
	err := b.flushLocked()
	gatherPool.Put(b.gather)
	b.gather = nil
	return err
}

func (b *bulkConn) flushLocked() error {
	buf := *b.gather
	*b.gather = buf[:0]
	if len(buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(buf)
	return err
}
