// Command goftps (bench/peers) moves one file over FTPS with PROT P, as a
// client written with Go's crypto/tls: the same TLS stack as tools/tlsloop,
// the loopback ceiling the benchmark compares transfers with. curl, the
// harness's main client, spends more CPU per byte it uploads than the
// servers do (a write call per 16 KiB record, and signal and poll calls
// around each), so its uploads measure curl; this client measures what a
// server takes when the client is no slower than the ceiling's own sender.
//
//	goftps -port N -user U -passfile F (-stor LOCAL REMOTE | -retr REMOTE)
//
// It logs in (AUTH TLS, PBSZ 0, PROT P, TYPE I), opens the data connection
// with EPSV and resumes the control connection's TLS session on it, as curl
// does. Output is one line of key=value pairs; seconds run from sending
// STOR/RETR to the 226 reply, as the harness's curl figures do:
//
//	op=stor bytes=1073741824 seconds=1.412 MBps=760.4 cipher=TLS_AES_128_GCM_SHA256 resumed=true
//
// (MB = 10^6 bytes.) It only connects to loopback addresses, and the whole
// run is bounded by -timeout.
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

type options struct {
	host, user, password string
	port                 int
	stor, retr           string // remote path
	local                string // file uploaded by -stor
	buf                  int
	deadline             time.Time
}

func main() {
	var o options
	var passfile string
	var timeout time.Duration
	flag.StringVar(&o.host, "host", "127.0.0.1", "server address (loopback only)")
	flag.IntVar(&o.port, "port", 2124, "control port")
	flag.StringVar(&o.user, "user", "ftpbench", "user name")
	flag.StringVar(&passfile, "passfile", "", "file holding the password")
	flag.StringVar(&o.stor, "stor", "", "upload -file to this remote path")
	flag.StringVar(&o.local, "file", "", "local file to upload with -stor")
	flag.StringVar(&o.retr, "retr", "", "download this remote path (discarded)")
	flag.IntVar(&o.buf, "buf", 256<<10, "read/write buffer size in bytes, as tlsloop's")
	flag.DurationVar(&timeout, "timeout", 120*time.Second, "bound on the whole run")
	flag.Parse()
	o.deadline = time.Now().Add(timeout)
	if err := run(o, passfile); err != nil {
		fmt.Fprintln(os.Stderr, "goftps:", err)
		os.Exit(1)
	}
}

func run(o options, passfile string) error {
	if ip := net.ParseIP(o.host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback address %q", o.host)
	}
	if (o.stor == "") == (o.retr == "") || (o.stor != "" && o.local == "") || o.buf <= 0 {
		return errors.New("give either -stor REMOTE -file LOCAL or -retr REMOTE, and a positive -buf")
	}
	pw, err := os.ReadFile(passfile)
	if err != nil {
		return err
	}
	o.password = strings.TrimSpace(string(pw))

	// One session cache and server name for both connections, so that the
	// data connection offers the control connection's session.
	tlsConf := &tls.Config{
		ServerName:         "ftpbench",
		InsecureSkipVerify: true, //nolint:gosec // self-signed benchmark certificate, as curl -k
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	raw, err := net.DialTimeout("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)), 10*time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	if err := raw.SetDeadline(o.deadline); err != nil {
		return err
	}
	r := bufio.NewReader(raw)
	if _, err := reply(r, "220"); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if _, err := command(raw, r, "AUTH TLS", "234"); err != nil {
		return err
	}
	ctl := tls.Client(raw, tlsConf)
	if err := ctl.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	r = bufio.NewReader(ctl)
	for _, step := range [][2]string{
		{"USER " + o.user, "331"}, {"PASS " + o.password, "230"}, {"PBSZ 0", "200"},
		{"PROT P", "200"}, {"TYPE I", "200"},
	} {
		if _, err := command(ctl, r, step[0], step[1]); err != nil {
			return err
		}
	}
	line, err := command(ctl, r, "EPSV", "229")
	if err != nil {
		return err
	}
	port, err := epsvPort(line)
	if err != nil {
		return err
	}
	draw, err := net.DialTimeout("tcp", net.JoinHostPort(o.host, strconv.Itoa(port)), 10*time.Second)
	if err != nil {
		return err
	}
	defer draw.Close()
	if err := draw.SetDeadline(o.deadline); err != nil {
		return err
	}

	op, verb := "retr", "RETR "+o.retr
	if o.stor != "" {
		op, verb = "stor", "STOR "+o.stor
	}
	start := time.Now()
	if _, err := command(ctl, r, verb, "150"); err != nil {
		return err
	}
	data := tls.Client(draw, tlsConf)
	if err := data.Handshake(); err != nil {
		return fmt.Errorf("data TLS handshake: %w", err)
	}
	buf := make([]byte, o.buf)
	var n int64
	if o.stor != "" {
		f, err := os.Open(o.local)
		if err != nil {
			return err
		}
		defer f.Close()
		if n, err = io.CopyBuffer(onlyWriter{data}, onlyReader{f}, buf); err != nil {
			return fmt.Errorf("upload after %d bytes: %w", n, err)
		}
		// close_notify and a TCP FIN, then drain: a server may have sent
		// TLS 1.3 session tickets nobody read, and closing a socket with
		// unread data resets the connection (vsftpd then answers 426).
		if err := data.CloseWrite(); err != nil {
			return err
		}
		if err := draw.(*net.TCPConn).CloseWrite(); err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, draw)
	} else {
		if n, err = io.CopyBuffer(io.Discard, onlyReader{data}, buf); err != nil {
			return fmt.Errorf("download after %d bytes: %w", n, err)
		}
		_ = data.Close()
	}
	if _, err := reply(r, "226"); err != nil {
		return fmt.Errorf("after the transfer: %w", err)
	}
	secs := time.Since(start).Seconds()
	st := data.ConnectionState()
	fmt.Printf("op=%s bytes=%d seconds=%.3f MBps=%.1f cipher=%s resumed=%t\n",
		op, n, secs, float64(n)/secs/1e6, tls.CipherSuiteName(st.CipherSuite), st.DidResume)
	_, _ = command(ctl, r, "QUIT", "221")
	return nil
}

// onlyReader and onlyWriter hide ReadFrom/WriteTo, so that io.CopyBuffer
// moves the data through buf in -buf sized pieces, as tlsloop does.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// epsvPort reads the port of a 229 reply: "229 ... (|||port|)".
func epsvPort(line string) (int, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return 0, fmt.Errorf("EPSV reply without a port: %q", line)
	}
	fields := strings.Split(line[open+1:end], "|")
	if len(fields) != 5 {
		return 0, fmt.Errorf("EPSV reply without a port: %q", line)
	}
	port, err := strconv.Atoi(fields[3])
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("EPSV reply without a port: %q", line)
	}
	return port, nil
}

func command(w io.Writer, r *bufio.Reader, line, want string) (string, error) {
	if _, err := fmt.Fprintf(w, "%s\r\n", line); err != nil {
		return "", err
	}
	got, err := reply(r, want)
	if err != nil {
		verb, _, _ := strings.Cut(line, " ")
		return "", fmt.Errorf("%s: %w", verb, err)
	}
	return got, nil
}

// reply reads one (possibly multi-line) reply, checks its code and
// returns its last line.
func reply(r *bufio.Reader, code string) (string, error) {
	for range 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) >= 4 && line[3] == ' ' {
			line = strings.TrimSpace(line)
			if line[:3] != code {
				return "", errors.New(line)
			}
			return line, nil
		}
	}
	return "", errors.New("reply too long")
}
