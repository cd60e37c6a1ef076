package server

import (
	"crypto/tls"
	"net"
	"sync"
)

// bulkConn is the socket under a TLS data connection. crypto/tls makes one
// write system call per record, that is per 16 KiB at most. While a
// transfer writes, bulkConn gathers the records of each large Write and
// sends them with one system call: far fewer calls, larger TCP segments,
// and a quarter less CPU per byte sent (docs/benchmarks.md). Outside such a
// Write (handshake, alerts, close_notify) it writes straight through.
type bulkConn struct {
	net.Conn

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
