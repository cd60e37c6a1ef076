package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the read and write calls that reach the socket.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// bulkPair returns a TLS server over a bulkConn over a counted loopback
// socket, and the TLS client at the other end, both after the handshake.
func bulkPair(t *testing.T) (*tls.Conn, *countingConn, *tls.Conn) {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sraw, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	counted := &countingConn{Conn: sraw}
	server := tls.Server(&bulkConn{Conn: counted}, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	client := tls.Client(raw, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test peer of a self-signed server
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if bulkOf(server) == nil {
		t.Fatal("bulkOf does not find the bulkConn under the TLS connection")
	}
	return server, counted, client
}

// A transfer's Writes reach the socket as one write call each, not one per
// TLS record, and the bytes arrive intact and in order.
func TestBulkConnGathersRecords(t *testing.T) {
	server, counted, client := bulkPair(t)
	data := make([]byte, 8*bufSize+12345)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()

	before := counted.writes.Load()
	tr := &transfer{}
	w := &progressConn{c: server, t: tr, timeout: time.Minute, bulk: bulkOf(server)}
	if _, err := io.CopyBuffer(onlyWriter{w}, onlyReader{bytes.NewReader(data)}, make([]byte, bufSize)); err != nil {
		t.Fatal(err)
	}
	writes := counted.writes.Load() - before
	// 9 Writes of at most bufSize; crypto/tls alone would make more than 16
	// record writes per bufSize.
	if writes != 9 {
		t.Errorf("%d socket writes for 9 transfer writes, want 9", writes)
	}
	if tr.bytes.Load() != int64(len(data)) {
		t.Errorf("transfer counted %d bytes, want %d", tr.bytes.Load(), len(data))
	}

	// Outside a transfer write, records go straight out: close_notify
	// reaches the client, which then sees the end of the stream.
	if err := server.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if sha256.Sum256(b) != sha256.Sum256(data) {
			t.Fatalf("client got %d bytes that differ from the %d sent", len(b), len(data))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("client did not see the end of the stream")
	}
}

// ABOR from another goroutine while a transfer's write is blocked on a
// client that stopped reading ends the transfer with an error, without a
// data race and without waiting for the blocked write.
func TestBulkConnAbortDuringTransfer(t *testing.T) {
	server, _, client := bulkPair(t)
	tr := &transfer{}
	if !tr.setConn(server) {
		t.Fatal("setConn refused")
	}
	done := make(chan error, 1)
	go func() {
		w := &progressConn{c: server, t: tr, timeout: 10 * time.Minute, bulk: bulkOf(server)}
		block := make([]byte, bufSize)
		for range 4096 { // 1 GiB at most: far more than the socket buffers hold
			if _, err := w.Write(block); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Let the writes fill the socket buffers; the client reads nothing.
	time.Sleep(100 * time.Millisecond)
	tr.abort()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the transfer finished although it was aborted")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the transfer's write did not return after abort")
	}
	_ = client.Close()
}
