//go:build linux

package server

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// downloadUnsent caps the bytes a download keeps queued in the kernel
	// but not yet sent (TCP_NOTSENT_LOWAT). Without it the send buffer
	// grows to megabytes, and a writer is woken only when half of that has
	// drained: a slow client then seemed stalled for as long as it takes
	// to read megabytes, and deliveries came in bursts.
	downloadUnsent = 128 << 10
)

// lowWater batches the wake-ups of an upload's reader with SO_RCVLOWAT.
// Reads still return whatever is queued; only the wait for more data lasts
// until uploadLowWater bytes (or the end of the stream) are there.
type lowWater struct {
	rc syscall.RawConn
}

// newLowWater returns the low-water mark of conn's socket, or nil.
func newLowWater(conn net.Conn) *lowWater {
	if rc := rawSocket(conn); rc != nil {
		return &lowWater{rc: rc}
	}
	return nil
}

// raiseLowWater sets the low-water mark on conn's socket. It returns nil
// when it cannot.
func raiseLowWater(conn net.Conn) *lowWater {
	l := newLowWater(conn)
	if l == nil || l.set(uploadLowWater) != nil {
		return nil
	}
	return l
}

// set puts the mark at n bytes. Lowering it wakes a reader for whom
// enough is now queued.
func (l *lowWater) set(n int) error {
	return setSockopt(l.rc, unix.SOL_SOCKET, unix.SO_RCVLOWAT, n)
}

// trickling is asked when a read timed out. A client that sends less than
// the low-water mark per data timeout is slow, not stalled: if anything is
// queued, the mark drops to one byte for the rest of the upload, and
// trickling reports true so that the read is retried. A stalled client
// (nothing queued) still times out.
func (l *lowWater) trickling() bool {
	if l == nil {
		return false
	}
	queued := 0
	if err := l.rc.Control(func(fd uintptr) {
		n, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		if err == nil && n > 0 {
			queued = n
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
		}
	}); err != nil {
		return false
	}
	return queued > 0
}

// limitUnsent sets downloadUnsent on conn's socket, if it can.
func limitUnsent(conn net.Conn) {
	if rc := rawSocket(conn); rc != nil {
		_ = setSockopt(rc, unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, downloadUnsent)
	}
}

func setSockopt(rc syscall.RawConn, level, opt, value int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, value)
	}); err != nil {
		return err
	}
	return serr
}

// rawSocket returns the TCP socket under a data connection (under its TLS
// layer, bulkConn and PROXY protocol layer), or nil.
func rawSocket(conn net.Conn) syscall.RawConn {
	if b := bulkOf(conn); b != nil {
		conn = b.Conn
	}
	tcp := clearTCP(conn)
	if tcp == nil {
		return nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
