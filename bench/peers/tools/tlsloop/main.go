// Command tlsloop (bench/peers) measures the single-connection throughput ceiling of this
// machine's loopback interface, in plain TCP and through Go's crypto/tls.
//
// One process runs both ends: a server goroutine accepts one connection on a
// loopback address and writes -bytes bytes; the client reads until EOF and
// reports the rate. Both ends share the machine's cores, exactly like an FTP
// server and curl do in the peers benchmark.
//
// It only ever listens on and dials loopback addresses, and every transfer is
// bounded by -bytes and -timeout.
//
//	tlsloop -mode tcp|tls13|tls12-aes128|tls12-aes256|tls12-chacha [-bytes N] [-buf N]
//
// Output is one line of key=value pairs, e.g.
//
//	mode=tls13 proto=TLS1.3 cipher=TLS_AES_128_GCM_SHA256 bytes=1073741824 seconds=0.812 MBps=1322.4
//
// (MB = 10^6 bytes.)
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

func main() {
	mode := flag.String("mode", "tls13", "tcp | tls13 | tls12-aes128 | tls12-aes256 | tls12-chacha")
	size := flag.Int64("bytes", 1<<30, "bytes to transfer (server -> client)")
	bufSize := flag.Int("buf", 256<<10, "read/write buffer size in bytes")
	addr := flag.String("addr", "127.0.0.1:0", "listen address; must be a loopback address")
	timeout := flag.Duration("timeout", 120*time.Second, "deadline for the whole transfer")
	flag.Parse()

	if err := run(*mode, *size, *bufSize, *addr, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "tlsloop:", err)
		os.Exit(1)
	}
}

func run(mode string, size int64, bufSize int, addr string, timeout time.Duration) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback address %q", addr)
	}
	if size <= 0 || bufSize <= 0 {
		return errors.New("-bytes and -buf must be positive")
	}

	srvCfg, cliCfg, err := configs(mode)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	deadline := time.Now().Add(timeout)

	srvErr := make(chan error, 1)
	go func() { srvErr <- serve(ln, srvCfg, size, bufSize, deadline) }()

	raw, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		return err
	}
	if err := raw.SetDeadline(deadline); err != nil {
		return err
	}
	conn := raw
	proto, cipher := "TCP", "-"
	if cliCfg != nil {
		tc := tls.Client(raw, cliCfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("client handshake: %w", err)
		}
		st := tc.ConnectionState()
		proto = versionName(st.Version)
		cipher = tls.CipherSuiteName(st.CipherSuite)
		conn = tc
	}
	defer conn.Close()

	buf := make([]byte, bufSize)
	var got int64
	start := time.Now()
	for got < size {
		n, err := conn.Read(buf)
		got += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("client read after %d bytes: %w", got, err)
		}
	}
	secs := time.Since(start).Seconds()
	if err := <-srvErr; err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if got != size {
		return fmt.Errorf("short transfer: got %d of %d bytes", got, size)
	}
	fmt.Printf("mode=%s proto=%s cipher=%s bytes=%d seconds=%.3f MBps=%.1f\n",
		mode, proto, cipher, got, secs, float64(got)/secs/1e6)
	return nil
}

// serve accepts exactly one connection and writes size bytes to it.
func serve(ln net.Listener, cfg *tls.Config, size int64, bufSize int, deadline time.Time) error {
	raw, err := ln.Accept()
	if err != nil {
		return err
	}
	if err := raw.SetDeadline(deadline); err != nil {
		return err
	}
	conn := raw
	if cfg != nil {
		tc := tls.Server(raw, cfg)
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return fmt.Errorf("server handshake: %w", err)
		}
		conn = tc
	}
	defer conn.Close()
	buf := make([]byte, bufSize)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	for left := size; left > 0; {
		chunk := buf
		if int64(len(chunk)) > left {
			chunk = chunk[:left]
		}
		n, err := conn.Write(chunk)
		left -= int64(n)
		if err != nil {
			return err
		}
	}
	return nil
}

func configs(mode string) (srv, cli *tls.Config, err error) {
	if mode == "tcp" {
		return nil, nil, nil
	}
	cert, pool, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	srv = &tls.Config{Certificates: []tls.Certificate{cert}}
	cli = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	var suite uint16
	switch mode {
	case "tls13":
		srv.MinVersion, cli.MinVersion = tls.VersionTLS13, tls.VersionTLS13
		return srv, cli, nil // Go picks TLS_AES_128_GCM_SHA256 on CPUs with AES-NI
	case "tls12-aes128":
		suite = tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	case "tls12-aes256":
		suite = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	case "tls12-chacha":
		suite = tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	default:
		return nil, nil, fmt.Errorf("unknown -mode %q", mode)
	}
	for _, c := range []*tls.Config{srv, cli} {
		c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		c.CipherSuites = []uint16{suite}
	}
	return srv, cli, nil
}

// selfSigned makes an in-memory ECDSA P-256 certificate for 127.0.0.1 and ::1.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	c, err := ftptest.GenerateSelfSigned(ftptest.CertOptions{CommonName: "127.0.0.1", Hosts: []string{"127.0.0.1", "::1"}})
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return c.TLS, c.Pool(), nil
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS1.3"
	case tls.VersionTLS12:
		return "TLS1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}
