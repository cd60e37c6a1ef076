package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
)

// slowEnv is a server with the given data timeout that allows PROT C.
func slowEnv(t *testing.T, dataTimeout time.Duration) *testEnv {
	return newEnv(t, envOpt{mutate: func(c *config.Config) {
		c.Limits.DataTimeout.Duration = dataTimeout
		c.Policy.Data.Protection = config.ProtectionClientChoice
	}})
}

// openData logs in with PROT prot, sends command over a passive data
// connection (prepared by before, when not nil, ahead of the command) and
// returns the session, the raw data connection and the one to move data
// through (TLS under PROT P).
func openData(t *testing.T, e *testEnv, prot, command string, before func(net.Conn)) (*client, net.Conn, net.Conn) {
	t.Helper()
	c := e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	c.Must("PROT "+prot, 200)
	raw := c.DialData(c.EPSV())
	if before != nil {
		before(raw)
	}
	c.Must(command, 150)
	conf := c.TLS
	if prot == "C" {
		conf = nil
	}
	data, err := c.Wrap(raw, conf)
	if err != nil {
		t.Fatal(err)
	}
	return c, raw, data
}

// Uploads wait for a buffer's worth of data before waking (lowWater); the
// data timeout still tells a slow client from a stalled one: a client that
// sends a little at a time, slower than the low-water mark per data
// timeout, completes; a client that sends nothing more is cut off with 426
// and leaves no file. Under PROT P and PROT C alike.
func TestUploadSlowAndStalledClients(t *testing.T) {
	const dataTimeout = 400 * time.Millisecond
	e := slowEnv(t, dataTimeout)
	piece := randomBytes(t, 1000)
	for _, prot := range []string{"P", "C"} {

		t.Run("PROT "+prot+" slow client completes", func(t *testing.T) {
			c, raw, data := openData(t, e, prot, "STOR slow-"+prot, nil)
			var sent []byte
			// 5 pieces, 3/4 of a data timeout apart: the whole upload takes
			// about three data timeouts, each gap is shorter than one.
			for i := range 5 {
				if i > 0 {
					time.Sleep(dataTimeout * 3 / 4)
				}
				if _, err := data.Write(piece); err != nil {
					code, text := c.Read()
					t.Fatalf("piece %d: %v (reply %d %q)", i, err, code, text)
				}
				sent = append(sent, piece...)
			}
			if tc, ok := data.(*tls.Conn); ok {
				_ = tc.CloseWrite()
			}
			_ = closeWrite(raw)
			c.Reply(226)
			if got, err := e.readFile("slow-" + prot); err != nil || !bytes.Equal(got, sent) {
				t.Fatalf("stored %d bytes (%v), sent %d", len(got), err, len(sent))
			}
			c.Must("NOOP", 200)
		})

		t.Run("PROT "+prot+" stalled client is cut off", func(t *testing.T) {
			c, _, data := openData(t, e, prot, "STOR stalled-"+prot, nil)
			if _, err := data.Write(piece); err != nil {
				t.Fatal(err)
			}
			// Nothing more, and the data connection stays open.
			code, text := c.Read()
			if code != 426 {
				t.Fatalf("stalled upload: %d %q, want 426", code, text)
			}
			for _, name := range listDirNames(t, e.home()) {
				if name == "stalled-"+prot || name[0] == '.' {
					t.Fatalf("a stalled upload left %q", name)
				}
			}
			c.Must("NOOP", 200)
		})
	}
}

// A client that reads a download slowly, less than a sendfile chunk per
// data timeout but never stopping, gets the whole file: the data timeout
// counts time without progress, not time per chunk. Under PROT P and PROT C.
func TestDownloadSlowReader(t *testing.T) {
	const dataTimeout = 400 * time.Millisecond
	e := slowEnv(t, dataTimeout)
	want := randomBytes(t, 4<<20)
	e.writeFile("slow.bin", want)
	for _, prot := range []string{"P", "C"} {
		t.Run("PROT "+prot, func(t *testing.T) {
			// A small window, so that the server waits on this reader.
			c, raw, data := openData(t, e, prot, "RETR slow.bin", func(raw net.Conn) {
				_ = raw.(*net.TCPConn).SetReadBuffer(32 << 10)
			})
			// 128 KiB per dataTimeout/6: 768 KiB per data timeout, less than
			// a sendfile chunk (1 MiB), more than a TLS write (256 KiB).
			var got []byte
			buf := make([]byte, 128<<10)
			for range 1000 { // 4 MiB needs 32 full reads; the loop ends at EOF
				_ = raw.SetReadDeadline(time.Now().Add(20 * time.Second))
				n, err := io.ReadFull(data, buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
				time.Sleep(dataTimeout / 6)
			}
			c.Reply(226)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want the %d of the file", len(got), len(want))
			}
		})
	}
}

// A PROT P client that ends an upload with close_notify and waits for the
// server's before it closes the connection (Python's ftplib unwrap() does)
// gets it at once, and then 226: the server reads the close_notify as soon
// as it arrives, not when the data timeout passes. The large upload's last
// bytes arrive while the server waits under its raised low-water mark.
func TestUploadCloseNotifyExchange(t *testing.T) {
	for _, tc := range []struct {
		name       string
		body, tail int
	}{{"small", 0, 3000}, {"large", 4 << 20, 3000}} {
		t.Run(tc.name, func(t *testing.T) {
			e := slowEnv(t, time.Minute)
			c, raw, data := openData(t, e, "P", "STOR up.bin", nil)
			want := randomBytes(t, tc.body+tc.tail)
			if _, err := data.Write(want[:tc.body]); err != nil {
				t.Fatal(err)
			}
			// Let the server catch up and wait for data first, as it does
			// when the client takes a moment (reading its file, say).
			time.Sleep(200 * time.Millisecond)
			if _, err := data.Write(want[tc.body:]); err != nil {
				t.Fatal(err)
			}
			dc := data.(*tls.Conn)
			if err := dc.CloseWrite(); err != nil { // close_notify, and no TCP FIN yet
				t.Fatal(err)
			}
			// Far less than the data timeout: the server must answer by itself.
			_ = raw.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.Copy(io.Discard, dc); err != nil {
				t.Fatalf("waiting for the server's close_notify: %v", err)
			}
			_ = raw.Close()
			c.Reply(226)
			if got, err := e.readFile("up.bin"); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("stored %d bytes (%v), sent %d", len(got), err, len(want))
			}
		})
	}
}
