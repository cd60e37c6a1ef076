package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
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

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	_ = server.SetDeadline(time.Now().Add(10 * time.Second))
	return client, server
}

// unsentOf reads the TCP_NOTSENT_LOWAT of a TCP connection's socket.
func unsentOf(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	v := 0
	_ = rc.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT) })
	return v
}

// A data connection's socket gets its options (the download's unsent cap,
// the upload's low-water mark) whatever lies over it: nothing, TLS over
// bulkConn, or a PROXY protocol layer. Under the PROXY layer, reads still
// return the bytes that came with the header.
func TestSocketOptionsThroughLayers(t *testing.T) {
	proxied := func(t *testing.T, client, raw net.Conn) net.Conn {
		h := proxyproto.HeaderProxyFromAddrs(1, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 40000}, client.RemoteAddr())
		head, err := h.Format()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write(append(head, "payload"...)); err != nil {
			t.Fatal(err)
		}
		pc := proxyproto.NewConn(raw)
		if err := proxyHandshake(pc); err != nil {
			t.Fatal(err)
		}
		return pc
	}
	for name, layer := range map[string]func(t *testing.T, client, raw net.Conn) net.Conn{
		"tcp":   func(_ *testing.T, _, raw net.Conn) net.Conn { return raw },
		"tls":   func(_ *testing.T, _, raw net.Conn) net.Conn { return tls.Server(&bulkConn{Conn: raw}, &tls.Config{}) },
		"proxy": proxied,
	} {
		t.Run(name, func(t *testing.T) {
			client, raw := tcpPair(t)
			c := layer(t, client, raw)
			limitUnsent(c)
			if got := unsentOf(t, raw); got != downloadUnsent {
				t.Errorf("TCP_NOTSENT_LOWAT %d, want %d", got, downloadUnsent)
			}
			if raiseLowWater(c) == nil || lowWaterOf(t, raw) != uploadLowWater {
				t.Errorf("SO_RCVLOWAT %d, want %d", lowWaterOf(t, raw), uploadLowWater)
			}
			if name != "proxy" {
				return
			}
			got := make([]byte, len("payload"))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != "payload" {
				t.Fatalf("read %q (%v) after the header, want %q", got, err, "payload")
			}
		})
	}
}
