package soak

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one look at the ftpsd process: memory and descriptors from
// /proc, goroutines and sessions from its /metrics.
type Sample struct {
	At         time.Duration // since the load started
	RSS, USS   int64         // bytes (USS: private pages, from smaps_rollup)
	FDs        int
	Goroutines int
	Sessions   int   // ftpsd_sessions_active
	HeapInuse  int64 // go_memstats_heap_inuse_bytes
}

// sample reads the process's figures from /proc and its /metrics; a
// failure is an error of the run (the server must answer under load).
func (s *server) sample(since time.Time) (Sample, error) {
	smp, err := s.procSample(since)
	if err != nil {
		return smp, err
	}
	m, err := s.metrics()
	if err != nil {
		return smp, err
	}
	smp.setMetrics(m)
	return smp, nil
}

func (smp *Sample) setMetrics(m map[string]float64) {
	smp.Goroutines, smp.Sessions, smp.HeapInuse = int(m["go_goroutines"]), int(m["ftpsd_sessions_active"]), int64(m["go_memstats_heap_inuse_bytes"])
}

// procSample reads memory and descriptors from /proc: a few system calls,
// so that it keeps its pace when the machine is saturated.
func (s *server) procSample(since time.Time) (Sample, error) {
	pid := s.cmd.Process.Pid
	smp := Sample{At: time.Since(since)}
	var err error
	if smp.RSS, err = procKB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"); err != nil {
		return smp, err
	}
	clean, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Private_Clean:")
	if err != nil {
		return smp, err
	}
	dirty, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Private_Dirty:")
	if err != nil {
		return smp, err
	}
	smp.USS = clean + dirty
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return smp, err
	}
	smp.FDs = len(fds)
	return smp, nil
}

// procKB returns the "Key: n kB" field of a /proc file, in bytes.
func procKB(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n << 10, err
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

// metricsClient opens a new connection per scrape, so that no idle
// keep-alive connection holds a goroutine in the server between samples.
var metricsClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// metrics scrapes /metrics and returns the unlabelled series and the
// labelled ones by their full name (name{labels}).
func (s *server) metrics() (map[string]float64, error) {
	resp, err := metricsClient.Get("http://" + s.ops + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, nil
}
