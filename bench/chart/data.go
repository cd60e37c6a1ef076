package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// key names one series of samples: a server (or "limits") and a metric.
type key struct{ scope, metric string }

// Samples are the values of a run's samples.tsv (scope, metric, run, value),
// in file order. A value that is not a number ("FAIL") counts as a failure.
type Samples struct {
	values   map[key][]float64
	failures map[key]int
	scopes   []string // in order of first appearance
}

// Stat summarises one series.
type Stat struct {
	Median, Min, Max float64
	N, Failed        int
}

// ParseSamples reads samples.tsv: four tab-separated columns per line.
func ParseSamples(r io.Reader) (*Samples, error) {
	s := &Samples{values: map[key][]float64{}, failures: map[key]int{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("samples line %d: want 4 tab-separated fields, got %d", line, len(f))
		}
		k := key{f[0], f[1]}
		if !slices.Contains(s.scopes, k.scope) {
			s.scopes = append(s.scopes, k.scope)
		}
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			s.failures[k]++
			continue
		}
		s.values[k] = append(s.values[k], v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Stat returns the median, min and max of a series; ok is false when it has
// no numeric value.
func (s *Samples) Stat(scope, metric string) (st Stat, ok bool) {
	k := key{scope, metric}
	st.Failed = s.failures[k]
	vals := slices.Clone(s.values[k])
	if len(vals) == 0 {
		return st, false
	}
	slices.Sort(vals)
	n := len(vals)
	st.N, st.Min, st.Max = n, vals[0], vals[n-1]
	if n%2 == 1 {
		st.Median = vals[n/2]
	} else {
		st.Median = (vals[n/2-1] + vals[n/2]) / 2
	}
	return st, true
}

// Servers returns the servers of the run, ours first, in a fixed order
// (then any other scope except "limits", in file order).
func (s *Samples) Servers() []string {
	var out []string
	for _, name := range knownServers {
		if slices.Contains(s.scopes, name) {
			out = append(out, name)
		}
	}
	for _, sc := range s.scopes {
		if sc != "limits" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

var knownServers = []string{"ftpsd", "vsftpd", "proftpd", "pure-ftpd"}

// Target is one row of targets.tsv (measure, ours, reference, target, met).
type Target struct {
	Measure   string
	Ours      float64
	HasOurs   bool
	Reference string
	Op        string // ">=" or "<="
	Goal      float64
	HasGoal   bool
	Met       string // yes, no, n/a
}

// Ratio is how far ours is from the goal, oriented so that >= 1 means met.
func (t Target) Ratio() (float64, bool) {
	if !t.HasOurs || !t.HasGoal || t.Goal == 0 || t.Ours == 0 {
		return 0, false
	}
	if t.Op == "<=" {
		return t.Goal / t.Ours, true
	}
	return t.Ours / t.Goal, true
}

// ParseTargets reads targets.tsv; a first line starting with "measure" is
// the header.
func ParseTargets(r io.Reader) ([]Target, error) {
	var out []Target
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" || (line == 1 && strings.HasPrefix(text, "measure\t")) {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("targets line %d: want 5 tab-separated fields, got %d", line, len(f))
		}
		t := Target{Measure: f[0], Reference: f[2], Met: f[4]}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			t.Ours, t.HasOurs = v, true
		}
		op, goal, _ := strings.Cut(strings.TrimSpace(f[3]), " ")
		if op != ">=" && op != "<=" {
			return nil, fmt.Errorf("targets line %d: target %q is not \">= N\" or \"<= N\"", line, f[3])
		}
		t.Op = op
		if v, err := strconv.ParseFloat(strings.TrimSpace(goal), 64); err == nil {
			t.Goal, t.HasGoal = v, true
		}
		out = append(out, t)
	}
	return out, sc.Err()
}
