package server

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

// reset closes a connection with a TCP RST (linger 0), as a client that
// crashes or a middlebox that kills the flow does.
func reset(t *testing.T, c net.Conn) {
	t.Helper()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// waitNoEntries waits until dir holds no entry at all (temp files included).
func waitNoEntries(t *testing.T, dir string) {
	t.Helper()
	ftptest.Eventually(t, 10*time.Second, 20*time.Millisecond, "no entry in "+dir, func() error {
		if names := listDirNames(t, dir); len(names) != 0 {
			return fmt.Errorf("left behind in %s: %v", dir, names)
		}
		return nil
	})
}

// startTransfer opens a logged-in TYPE I session, sends command over a
// protected passive data connection and returns both ends of it: the raw
// TCP connection (to reset) and the TLS one (to move data).
func startTransfer(t *testing.T, e *testEnv, command string) (c *client, raw, data net.Conn) {
	t.Helper()
	c = e.dial(false)
	c.secure()
	c.Must("TYPE I", 200)
	raw = c.DialData(c.EPSV())
	c.Must(command, 150)
	data, err := c.Wrap(raw, c.TLS)
	if err != nil {
		t.Fatal(err)
	}
	return c, raw, data
}

// Faults in the middle of transfers: each gets its reply code, leaves no
// file that looks complete, and the server goes on serving (the same
// session where it survives, and new sessions).
func TestTransferFaults(t *testing.T) {
	e := newEnv(t, envOpt{})
	big := randomBytes(t, 4<<20)

	t.Run("data connection reset mid-STOR", func(t *testing.T) {
		c, d, dc := startTransfer(t, e, "STOR upload.bin")
		if _, err := dc.Write(big[:1<<20]); err != nil {
			t.Fatal(err)
		}
		reset(t, d)
		if code, text := c.Read(); code != 426 && code != 451 {
			t.Fatalf("after a reset data connection: %d %q, want 426", code, text)
		}
		waitNoEntries(t, e.home())
		c.Must("NOOP", 200)
		// The same session uploads fine afterwards.
		if _, code, text := c.Transfer("STOR upload.bin", big, true); code != 226 {
			t.Fatalf("STOR after the fault: %d %q", code, text)
		}
		if got, _ := e.readFile("upload.bin"); !bytes.Equal(got, big) {
			t.Fatal("the retried upload differs")
		}
		_ = os.Remove(filepath.Join(e.home(), "upload.bin"))
	})

	t.Run("client vanishes mid-STOR", func(t *testing.T) {
		c, d, dc := startTransfer(t, e, "STOR gone.bin")
		if _, err := dc.Write(big[:1<<20]); err != nil {
			t.Fatal(err)
		}
		reset(t, d)
		reset(t, c.Raw)
		waitNoEntries(t, e.home())
		n := e.dial(false)
		n.secure()
		n.Must("NOOP", 200)
	})

	t.Run("data connection reset mid-RETR", func(t *testing.T) {
		e.writeFile("down.bin", big)
		c, d, dc := startTransfer(t, e, "RETR down.bin")
		buf := make([]byte, 64<<10)
		if _, err := dc.Read(buf); err != nil {
			t.Fatal(err)
		}
		reset(t, d)
		if code, text := c.Read(); code != 426 {
			t.Fatalf("after a reset data connection: %d %q, want 426", code, text)
		}
		c.Must("NOOP", 200)
		got, code, text := c.Transfer("RETR down.bin", nil, true)
		if code != 226 || !bytes.Equal(got, big) {
			t.Fatalf("RETR after the fault: %d %q, %d bytes", code, text, len(got))
		}
	})

	t.Run("client vanishes mid-RETR", func(t *testing.T) {
		c, d, _ := startTransfer(t, e, "RETR down.bin")
		reset(t, d)
		reset(t, c.Raw)
		n := e.dial(false)
		n.secure()
		n.Must("TYPE I", 200)
		if got, code, _ := n.Transfer("RETR down.bin", nil, true); code != 226 || !bytes.Equal(got, big) {
			t.Fatalf("another session after the fault: %d, %d bytes", code, len(got))
		}
	})

	t.Run("TLS handshake aborted halfway on the data connection", func(t *testing.T) {
		c := e.dial(false)
		c.secure()
		d := c.DialData(c.EPSV())
		c.Must("STOR half-handshake.bin", 150)
		// The first bytes of a TLS record header, then nothing more.
		if _, err := d.Write([]byte{0x16, 0x03, 0x01, 0x02}); err != nil {
			t.Fatal(err)
		}
		reset(t, d)
		code, text := c.Read()
		if code != 522 && code != 425 && code != 426 {
			t.Fatalf("after an aborted data handshake: %d %q, want 522", code, text)
		}
		t.Logf("reply: %q", text)
		if _, err := e.readFile("half-handshake.bin"); err == nil {
			t.Fatal("a file appeared for an upload whose data connection never came up")
		}
		c.Must("NOOP", 200)
	})

	t.Run("file deleted by another session during RETR", func(t *testing.T) {
		e.writeFile("moving.bin", big)
		a, _, dc := startTransfer(t, e, "RETR moving.bin")
		b := e.dial(false)
		b.secure()
		first := make([]byte, 64<<10)
		n, err := dc.Read(first)
		if err != nil {
			t.Fatal(err)
		}
		b.Must("DELE moving.bin", 250)
		var rest bytes.Buffer
		_, _ = rest.ReadFrom(dc)
		got := append(first[:n], rest.Bytes()...)
		code, text := a.Read()
		// The open file stays readable (POSIX): all of it and 226, or a
		// failure reply; never 226 with a part.
		if code == 226 && !bytes.Equal(got, big) {
			t.Fatalf("226 after %d of %d bytes", len(got), len(big))
		}
		if code != 226 && code != 426 && code != 451 {
			t.Fatalf("RETR of a deleted file: %d %q", code, text)
		}
		t.Logf("reply: %q after %d of %d bytes", text, len(got), len(big))
		a.Must("NOOP", 200)
		if _, err := e.readFile("moving.bin"); err == nil {
			t.Fatal("DELE did not delete")
		}
	})
}
