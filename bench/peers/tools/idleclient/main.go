// Command idleclient (bench/peers) opens many idle, logged-in explicit FTPS
// sessions (AUTH TLS, USER/PASS, PBSZ 0, PROT P) to one server on loopback,
// and reports the server's memory before and while they sit idle, as one
// JSON object on stdout.
//
// tools/ftpclient.py idle does the same for a few hundred sessions; this one
// exists for the 10,000-session step (run.sh idle10k): Python caps itself at
// 1000, and one Go process holds 10,000 TLS clients in far less memory.
//
//	idleclient -port 2124 -user ftpbench -passfile F -pid PID -n 10000
//
// Only loopback addresses are accepted, the session count is capped, and the
// whole run is bounded by -max-seconds.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const maxSessions = 20000

type options struct {
	host, user, password string
	port, pid, n, conc   int
	hold, timeout        time.Duration
	deadline             time.Time
}

func main() {
	var o options
	var passfile string
	var maxSeconds float64
	flag.StringVar(&o.host, "host", "127.0.0.1", "server address (loopback only)")
	flag.IntVar(&o.port, "port", 2124, "control port")
	flag.StringVar(&o.user, "user", "ftpbench", "user name")
	flag.StringVar(&passfile, "passfile", "", "file holding the password")
	flag.IntVar(&o.pid, "pid", 0, "server PID whose process tree is measured")
	flag.IntVar(&o.n, "n", 10000, "sessions to open")
	flag.IntVar(&o.conc, "concurrency", 8, "logins in flight at once")
	flag.DurationVar(&o.hold, "hold", 3*time.Second, "how long the sessions sit idle before the second measurement")
	flag.Float64Var(&maxSeconds, "max-seconds", 300, "bound on the whole run")
	flag.Parse()
	if err := run(o, passfile, maxSeconds); err != nil {
		_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
		os.Exit(1)
	}
}

func run(o options, passfile string, maxSeconds float64) error {
	if ip := net.ParseIP(o.host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback host %q", o.host)
	}
	if o.pid <= 0 || o.n <= 0 || o.n > maxSessions {
		return fmt.Errorf("need -pid > 0 and 0 < -n <= %d", maxSessions)
	}
	pw, err := os.ReadFile(passfile)
	if err != nil {
		return err
	}
	o.password = strings.TrimSpace(string(pw))
	o.conc = max(1, min(o.conc, 64))
	o.timeout = 15 * time.Second
	start := time.Now()
	o.deadline = start.Add(time.Duration(maxSeconds * float64(time.Second)))

	before := settle(o.pid, 10*time.Second)
	conns, errs := openAll(o)
	opened := len(conns)
	openSeconds := time.Since(start).Seconds()
	time.Sleep(o.hold)
	during := treeMem(o.pid)
	closeAll(conns)

	res := map[string]any{
		"requested": o.n, "opened": opened, "errors": errs,
		"open_seconds": round(openSeconds, 1),
		"before":       before, "during": during,
	}
	if opened > 0 {
		per := func(a, b int64) float64 { return round(float64(b-a)/float64(opened), 1) }
		res["rss_kib_per_session"] = per(before.RSSKiB, during.RSSKiB)
		res["pss_kib_per_session"] = per(before.PSSKiB, during.PSSKiB)
		res["uss_kib_per_session"] = per(before.USSKiB, during.USSKiB)
		res["procs_per_session"] = round(float64(during.Procs-before.Procs)/float64(opened), 2)
		res["fds_per_session"] = round(float64(during.FDs-before.FDs)/float64(opened), 2)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// openAll logs in o.n sessions with o.conc workers; it stops early at the
// deadline or after a few errors, and returns what it opened.
func openAll(o options) ([]*session, []string) {
	var (
		mu      sync.Mutex
		conns   []*session
		errs    []string
		started int
		wg      sync.WaitGroup
	)
	next := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if started >= o.n || len(errs) > 10 || time.Now().After(o.deadline) {
			return false
		}
		started++
		return true
	}
	for range o.conc {
		wg.Go(func() {
			for next() {
				s, err := login(o)
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					conns = append(conns, s)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if started < o.n && len(errs) <= 10 {
		errs = append(errs, "deadline reached")
	}
	if len(errs) > 3 {
		errs = errs[:3]
	}
	return conns, errs
}

type session struct {
	conn *tls.Conn
	r    *bufio.Reader
}

func login(o options) (*session, error) {
	raw, err := net.DialTimeout("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)), o.timeout)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = raw.Close()
		}
	}()
	if err := raw.SetDeadline(time.Now().Add(o.timeout)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(raw)
	if err := expect(r, "220"); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := command(raw, r, "AUTH TLS", "234"); err != nil {
		return nil, err
	}
	// self-signed benchmark certificate, as curl -k and the Python client
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	r = bufio.NewReader(tc)
	for _, step := range [][2]string{
		{"USER " + o.user, "331"}, {"PASS " + o.password, "230"}, {"PBSZ 0", "200"}, {"PROT P", "200"},
	} {
		if err := command(tc, r, step[0], step[1]); err != nil {
			return nil, err
		}
	}
	// idle from here: no deadline while the session is held
	if err := tc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	ok = true
	return &session{conn: tc, r: r}, nil
}

func command(w net.Conn, r *bufio.Reader, line, want string) error {
	if _, err := fmt.Fprintf(w, "%s\r\n", line); err != nil {
		return err
	}
	if err := expect(r, want); err != nil {
		verb, _, _ := strings.Cut(line, " ")
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

// expect reads one (possibly multi-line) reply and checks its code.
func expect(r *bufio.Reader, code string) error {
	for i := 0; i < 100; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) >= 4 && line[3] == ' ' {
			if line[:3] != code {
				return errors.New(strings.TrimSpace(line))
			}
			return nil
		}
	}
	return errors.New("reply too long")
}

// closeAll sends QUIT to every session, a few at a time, without waiting
// for the replies longer than a second each.
func closeAll(conns []*session) {
	var wg sync.WaitGroup
	ch := make(chan *session)
	for range 16 {
		wg.Go(func() {
			for s := range ch {
				_ = s.conn.SetDeadline(time.Now().Add(time.Second))
				if _, err := s.conn.Write([]byte("QUIT\r\n")); err == nil {
					_ = expect(s.r, "221")
				}
				_ = s.conn.Close()
			}
		})
	}
	for _, s := range conns {
		ch <- s
	}
	close(ch)
	wg.Wait()
}

// mem is the memory of a process tree, summed over its processes.
type mem struct {
	Procs  int   `json:"procs"`
	RSSKiB int64 `json:"rss_kib"`
	PSSKiB int64 `json:"pss_kib"`
	USSKiB int64 `json:"uss_kib"`
	FDs    int   `json:"fds"` // open descriptors
}

func treeMem(root int) mem {
	var m mem
	for _, p := range procTree(root) {
		dir := "/proc/" + strconv.Itoa(p)
		rss := readKiB(dir+"/status", "VmRSS:")
		if rss < 0 {
			continue // gone
		}
		m.Procs++
		if fds, err := os.ReadDir(dir + "/fd"); err == nil {
			m.FDs += len(fds)
		}
		m.RSSKiB += rss
		m.PSSKiB += max(0, readKiB(dir+"/smaps_rollup", "Pss:"))
		m.USSKiB += max(0, readKiB(dir+"/smaps_rollup", "Private_Clean:")) +
			max(0, readKiB(dir+"/smaps_rollup", "Private_Dirty:"))
	}
	return m
}

// settle waits (bounded) until the process count stops changing.
func settle(pid int, bound time.Duration) mem {
	end := time.Now().Add(bound)
	last := treeMem(pid)
	for time.Now().Before(end) {
		time.Sleep(500 * time.Millisecond)
		cur := treeMem(pid)
		if cur.Procs == last.Procs {
			return cur
		}
		last = cur
	}
	return last
}

// procTree returns root and its descendants, from the ppid field of /proc/*/stat.
func procTree(root int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')') // the command name may hold spaces
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(filepath.Base(d))
		children[ppid] = append(children[ppid], pid)
	}
	out, todo := []int{}, []int{root}
	for len(todo) > 0 && len(out) < 100000 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		out = append(out, p)
		todo = append(todo, children[p]...)
	}
	return out
}

// readKiB returns the "Key: N kB" value of a /proc file, or -1.
func readKiB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return 0
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
