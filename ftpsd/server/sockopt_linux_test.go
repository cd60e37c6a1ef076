package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lowWaterOf reads the SO_RCVLOWAT of a TCP connection's socket.
func lowWaterOf(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// A large PROT P upload is read ahead, many records per read call, under
// a raised low-water mark; and an upload whose client sends close_notify
// and waits for ours, without closing, still ends by itself although its
// last bytes are below the mark (Python's ftplib ends uploads so).
func TestReadAheadLowWater(t *testing.T) {
	server, counted, client := bulkPair(t)
	want := randomBytes(t, 4<<20+3000)
	body, tail := want[:4<<20], want[4<<20:]
	sent := make(chan error, 1)
	go func() {
		if _, err := client.Write(body); err != nil {
			sent <- err
			return
		}
		// The server catches up and waits under the mark; then the last
		// bytes, fewer than the mark, and close_notify without a TCP FIN.
		time.Sleep(200 * time.Millisecond)
		if _, err := client.Write(tail); err != nil {
			sent <- err
			return
		}
		sent <- client.CloseWrite()
	}()
	// Let the sender fill the socket's queue, as a fast client does.
	time.Sleep(200 * time.Millisecond)

	b := bulkOf(server)
	b.startReadAhead(newLowWater(counted.Conn))
	// The test's only bound: a stalled end shows as this deadline's
	// timeout, long after lowWaterWait.
	_ = server.SetReadDeadline(time.Now().Add(30 * time.Second))
	before := counted.reads.Load()
	var got bytes.Buffer
	buf := make([]byte, bufSize)
	sawMark := false
	for {
		n, err := server.Read(buf)
		got.Write(buf[:n])
		sawMark = sawMark || lowWaterOf(t, counted.Conn) == uploadLowWater
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", got.Len(), len(want), err)
		}
	}
	reads := counted.reads.Load() - before
	b.stopReadAhead()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("received %d bytes, not the %d sent", got.Len(), len(want))
	}
	if !sawMark {
		t.Errorf("the low-water mark never went up to %d during a %d-byte upload", uploadLowWater, len(want))
	}
	// crypto/tls alone reads about one or two records per call.
	records := len(want) / (16 << 10)
	t.Logf("%d socket reads for %d TLS records", reads, records)
	if reads > int64(records/4) {
		t.Errorf("%d socket reads for %d TLS records: not read ahead", reads, records)
	}
	if v := lowWaterOf(t, counted.Conn); v > 1 {
		t.Errorf("SO_RCVLOWAT is %d after the upload, want the default (at most 1)", v)
	}
}
