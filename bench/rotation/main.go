// Command rotation measures how long ftpsd takes to serve a renewed
// certificate: it runs the real ftpsd binary on loopback with its
// certificate in a kubelet-style projected folder, keeps sessions busy with
// logins and protected downloads, swaps the certificate many times the way
// the kubelet does (a new ..data symlink renamed into place), and times each
// swap until the first TLS handshake that shows the new certificate.
//
//	go run ./bench/rotation -ftpsd bin/ftpsd -rotations 100 -sessions 200 -out DIR
//
// It prints the latencies' median and 99th percentile and the count of
// failed sessions, and writes DIR/rotation.json and DIR/targets.tsv.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftps-operator/ftps-operator/ftpsd/reload/projected"
	"github.com/ftps-operator/ftps-operator/internal/ftptest"
)

const (
	user     = "bench"
	password = "rotation bench password"
	// smallFile is what every load transfer downloads.
	smallFile = "small.bin"
)

type options struct {
	ftpsd     string
	rotations int
	sessions  int
	think     time.Duration
	perLogin  int
	gap       time.Duration
	out       string
	timeout   time.Duration
}

// result is what rotation.json holds.
type result struct {
	Rotations        int       `json:"rotations"`
	Sessions         int       `json:"sessions"`
	LatenciesMS      []float64 `json:"latenciesMs"`
	P50MS            float64   `json:"p50Ms"`
	P99MS            float64   `json:"p99Ms"`
	MaxMS            float64   `json:"maxMs"`
	SwapMS           float64   `json:"swapMedianMs"`
	Missed           int       `json:"rotationsNotSeen"`
	SessionsOK       int64     `json:"sessionsOk"`
	SessionsFailed   int64     `json:"sessionsFailed"`
	TransfersOK      int64     `json:"transfersOk"`
	ProbeErrors      int64     `json:"probeErrors"`
	LastSessionError string    `json:"lastSessionError,omitempty"`
	Seconds          float64   `json:"seconds"`
}

func main() {
	var o options
	flag.StringVar(&o.ftpsd, "ftpsd", "bin/ftpsd", "the ftpsd binary to run")
	flag.IntVar(&o.rotations, "rotations", 100, "certificate swaps to time")
	flag.IntVar(&o.sessions, "sessions", 200, "concurrent client sessions kept busy during the swaps")
	flag.DurationVar(&o.think, "think", 500*time.Millisecond, "mean pause of a session between two downloads")
	flag.IntVar(&o.perLogin, "transfers-per-session", 10, "downloads before a session quits and logs in again")
	flag.DurationVar(&o.gap, "gap", 200*time.Millisecond, "pause between a swap being seen and the next swap")
	flag.StringVar(&o.out, "out", "", "folder for rotation.json and targets.tsv (none when empty)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "the whole run stops after this")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "rotation:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "ftpsd-rotation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ca, err := newCA()
	if err != nil {
		return err
	}
	// Every certificate is made before the clock starts, so that key
	// generation is not counted as ftpsd's latency.
	leaves := make([]leaf, o.rotations+1)
	for i := range leaves {
		if leaves[i], err = ca.issue(); err != nil {
			return err
		}
	}
	srv, err := startFTPSD(ctx, o.ftpsd, dir, leaves[0])
	if err != nil {
		return err
	}
	defer srv.stop()

	clientTLS := func() *tls.Config {
		return &tls.Config{ServerName: "127.0.0.1", RootCAs: ca.pool, MinVersion: tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	}
	// A first session proves the set-up before the load starts.
	if err := session(ctx, srv.addr, clientTLS(), 1); err != nil {
		return fmt.Errorf("first session: %w (ftpsd log: %s)", err, srv.logPath)
	}

	res := result{Rotations: o.rotations, Sessions: o.sessions}
	var ok, failed, transfers atomic.Int64
	var lastErr atomic.Value
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range o.sessions {
		wg.Go(func() {
			load(loadCtx, srv.addr, clientTLS, o, int64(i), &ok, &failed, &transfers, &lastErr)
		})
	}
	// Let every session log in before the first swap.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}

	start := time.Now()
	var swaps []float64
	var probeErrors int64
	for i := 1; i <= o.rotations && ctx.Err() == nil; i++ {
		t0 := time.Now()
		if err := projected.Write(srv.tlsDir, leaves[i].files()); err != nil {
			stopLoad()
			wg.Wait()
			return err
		}
		swaps = append(swaps, ms(time.Since(t0)))
		lat, errs, seen := waitForSerial(ctx, srv.addr, leaves[i].serial, t0)
		probeErrors += errs
		if !seen {
			res.Missed++
			continue
		}
		res.LatenciesMS = append(res.LatenciesMS, ms(lat))
		select {
		case <-time.After(o.gap):
		case <-ctx.Done():
		}
	}
	res.Seconds = time.Since(start).Seconds()
	stopLoad()
	wg.Wait()

	res.SessionsOK, res.SessionsFailed, res.TransfersOK, res.ProbeErrors = ok.Load(), failed.Load(), transfers.Load(), probeErrors
	if e, _ := lastErr.Load().(string); e != "" {
		res.LastSessionError = e
	}
	res.P50MS, res.P99MS = percentile(res.LatenciesMS, 50), percentile(res.LatenciesMS, 99)
	if len(res.LatenciesMS) > 0 {
		res.MaxMS = slices.Max(res.LatenciesMS)
	}
	res.SwapMS = percentile(swaps, 50)
	report(res)
	if ctx.Err() != nil {
		return fmt.Errorf("stopped early: %w", ctx.Err())
	}
	return write(o.out, res)
}

// waitForSerial opens TLS handshakes until one shows the certificate with
// serial, and returns the time since t0. Each probe is a new control
// connection (AUTH TLS, then the handshake), as a new client would open.
func waitForSerial(ctx context.Context, addr string, serial *big.Int, t0 time.Time) (time.Duration, int64, bool) {
	var errs int64
	conf := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the probe only reads the serial; sessions verify.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got, err := peerSerial(addr, conf)
		if err != nil {
			errs++
			time.Sleep(time.Millisecond)
			continue
		}
		if got.Cmp(serial) == 0 {
			return time.Since(t0), errs, true
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, errs, false
}

func peerSerial(addr string, conf *tls.Config) (*big.Int, error) {
	c, err := dialTLS(addr, conf)
	if err != nil {
		return nil, err
	}
	defer c.Quit()
	certs := c.TLSState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs[0].SerialNumber, nil
}

// load keeps one client busy until ctx ends: log in, download the small file
// perLogin times with a random pause between downloads, quit, again. Any
// error fails the session.
func load(ctx context.Context, addr string, conf func() *tls.Config, o options, seed int64,
	ok, failed, transfers *atomic.Int64, lastErr *atomic.Value) {
	rnd := mrand.New(mrand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
	for ctx.Err() == nil {
		n, err := sessionPaced(ctx, addr, conf(), o.perLogin, func() time.Duration {
			return time.Duration(rnd.Int64N(int64(2*o.think) + 1))
		})
		transfers.Add(int64(n))
		switch {
		case err == nil:
			ok.Add(1)
		case ctx.Err() != nil:
			// Cut short by the end of the run: neither a success nor a failure.
		default:
			failed.Add(1)
			lastErr.Store(err.Error())
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// session logs in and downloads the small file n times with no pause.
func session(ctx context.Context, addr string, conf *tls.Config, n int) error {
	_, err := sessionPaced(ctx, addr, conf, n, func() time.Duration { return 0 })
	return err
}

func sessionPaced(ctx context.Context, addr string, conf *tls.Config, n int, pause func() time.Duration) (int, error) {
	c, err := dialTLS(addr, conf)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Login(user, password); err != nil {
		return 0, err
	}
	done := 0
	for range n {
		select {
		case <-time.After(pause()):
		case <-ctx.Done():
			return done, ctx.Err()
		}
		data, err := c.Retr(smallFile)
		if err != nil {
			return done, err
		}
		if len(data) != smallSize {
			return done, fmt.Errorf("RETR: got %d bytes, want %d", len(data), smallSize)
		}
		done++
	}
	_, err = c.Expect("QUIT", 221)
	return done, err
}

// server is the ftpsd process under test.
type server struct {
	cmd     *exec.Cmd
	addr    string
	tlsDir  string
	logPath string
}

// startFTPSD writes the certificate, users and configuration and starts
// ftpsd with them; it returns once the server greets.
func startFTPSD(ctx context.Context, bin, dir string, first leaf) (*server, error) {
	s := &server{tlsDir: filepath.Join(dir, "tls"), logPath: filepath.Join(dir, "ftpsd.log")}
	if err := projected.Write(s.tlsDir, first.files()); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	usersYAML := fmt.Appendf(nil, "users:\n- username: %s\n  passwordHash: %q\n  home: \".\"\n  permissions: [List, Read]\n", user, hash)
	if err := projected.Write(filepath.Join(dir, "users"), map[string][]byte{"users.yaml": usersYAML}); err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "data")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, smallFile), make([]byte, smallSize), 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	config := fmt.Appendf(nil, `listen: %q
metricsListen: ""
root: %q
usersFile: %q
tls: {certFile: %q, keyFile: %q}
limits: {maxSessions: 2000, maxSessionsPerIP: 2000}
`, s.addr, root, filepath.Join(dir, "users", "users.yaml"), filepath.Join(s.tlsDir, "tls.crt"), filepath.Join(s.tlsDir, "tls.key"))
	cfgPath := filepath.Join(dir, "ftpsd.yaml")
	if err := os.WriteFile(cfgPath, config, 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.CommandContext(ctx, bin, "--config", cfgPath, "--log-level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Cancel = func() error { return s.cmd.Process.Signal(syscall.SIGTERM) }
	s.cmd.WaitDelay = 10 * time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for range 200 { // up to 10 s
		if c, err := ftptest.DialConn(s.addr, nil, ioTimeout); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("ftpsd did not greet on %s within 10s (log: %s)", s.addr, s.logPath)
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		_ = s.cmd.Wait()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ca issues the server certificates; clients trust it, so a session that
// straddles a swap verifies either certificate.
type ca struct {
	*ftptest.CA
	pool *x509.CertPool
}

type leaf struct {
	serial          *big.Int
	certPEM, keyPEM []byte
}

func (l leaf) files() map[string][]byte {
	return map[string][]byte{"tls.crt": l.certPEM, "tls.key": l.keyPEM}
}

func newCA() (*ca, error) {
	c, err := ftptest.GenerateCA("rotation bench CA")
	if err != nil {
		return nil, err
	}
	return &ca{CA: c, pool: c.Pool()}, nil
}

func (c *ca) issue() (leaf, error) {
	l, err := c.Sign(ftptest.CertOptions{CommonName: "127.0.0.1", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		return leaf{}, err
	}
	return leaf{serial: l.Leaf.SerialNumber, certPEM: l.CertPEM, keyPEM: l.KeyPEM}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the nearest-rank percentile of xs (0 when empty).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

func report(r result) {
	fmt.Printf("certificate rotation: %d swaps seen of %d, %d sessions of load\n", len(r.LatenciesMS), r.Rotations, r.Sessions)
	fmt.Printf("  swap -> first handshake with the new certificate: p50 %.1f ms, p99 %.1f ms, max %.1f ms (the swap itself: median %.2f ms)\n",
		r.P50MS, r.P99MS, r.MaxMS, r.SwapMS)
	fmt.Printf("  sessions: %d completed, %d failed; %d protected downloads; %d probe errors\n",
		r.SessionsOK, r.SessionsFailed, r.TransfersOK, r.ProbeErrors)
	if r.LastSessionError != "" {
		fmt.Printf("  last session error: %s\n", r.LastSessionError)
	}
}

func write(dir string, r result) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "rotation.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	all := r.Missed == 0 && len(r.LatenciesMS) == r.Rotations
	rows := fmt.Sprintf("certificate rotation, swap -> new handshake, p50\t%.1f ms\t%d swaps, %d busy sessions\tmeasured\t%s\n",
		r.P50MS, len(r.LatenciesMS), r.Sessions, yes(all)) +
		fmt.Sprintf("certificate rotation, swap -> new handshake, p99\t%.1f ms\t%d swaps, %d busy sessions\tmeasured\t%s\n",
			r.P99MS, len(r.LatenciesMS), r.Sessions, yes(all)) +
		fmt.Sprintf("certificate rotation, failed sessions\t%d\t%d sessions completed\t0\t%s\n",
			r.SessionsFailed, r.SessionsOK, yes(r.SessionsFailed == 0 && r.SessionsOK > 0))
	return os.WriteFile(filepath.Join(dir, "targets.tsv"), []byte(rows), 0o644)
}
