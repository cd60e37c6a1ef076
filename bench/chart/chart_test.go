package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadTestdata(t *testing.T) (*Samples, []Target) {
	t.Helper()
	s, err := load("testdata/samples.tsv", ParseSamples)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := load("testdata/targets.tsv", ParseTargets)
	if err != nil {
		t.Fatal(err)
	}
	return s, ts
}

func TestParseSamples(t *testing.T) {
	s, _ := loadTestdata(t)
	if got, want := s.Servers(), []string{"ftpsd", "vsftpd", "proftpd", "pure-ftpd"}; !slices.Equal(got, want) {
		t.Errorf("Servers() = %v, want %v (ours first, limits left out)", got, want)
	}
	for _, tc := range []struct {
		scope, metric    string
		median, min, max float64
		n, failed        int
	}{
		{"ftpsd", "retr_protp", 990, 910.5, 1020, 3, 0},
		{"proftpd", "retr_protp", 736, 693, 779, 2, 1}, // FAIL counted, not averaged in
		{"ftpsd", "list_python_ms", 6.28, 6.02, 21.36, 5, 0},
		{"ftpsd", "sessions_python_seq", (87.7 + 119.0) / 2, 64.1, 151.5, 4, 0},
		{"vsftpd", "idle_uss_kib_per_session", 626.2, 626.2, 626.2, 1, 0},
		{"limits", "tlsloop_tls13", 514.9, 514.9, 514.9, 1, 0},
	} {
		st, ok := s.Stat(tc.scope, tc.metric)
		if !ok {
			t.Errorf("%s %s: no values", tc.scope, tc.metric)
			continue
		}
		if !near(st.Median, tc.median) || !near(st.Min, tc.min) || !near(st.Max, tc.max) || st.N != tc.n || st.Failed != tc.failed {
			t.Errorf("%s %s = %+v, want median %v min %v max %v n %d failed %d",
				tc.scope, tc.metric, st, tc.median, tc.min, tc.max, tc.n, tc.failed)
		}
	}
	if _, ok := s.Stat("vsftpd", "mlsd_python_ms"); ok {
		t.Error("vsftpd has no MLSD, yet Stat found values")
	}
}

func TestParseSamplesErrors(t *testing.T) {
	if _, err := ParseSamples(strings.NewReader("ftpsd\tretr_protp\t1\n")); err == nil {
		t.Error("a line with 3 fields parsed")
	}
	s, err := ParseSamples(strings.NewReader("\nftpsd\tretr_protp\t1\tFAIL\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := s.Stat("ftpsd", "retr_protp"); ok || st.Failed != 1 {
		t.Errorf("only a FAIL: Stat = %+v, %v; want no value, 1 failure", st, ok)
	}
}

func TestParseTargets(t *testing.T) {
	_, ts := loadTestdata(t)
	if len(ts) != 13 {
		t.Fatalf("%d targets, want 13 (header skipped)", len(ts))
	}
	first := ts[0]
	if first.Measure != "RETR PROT P MB/s >= fastest peer" || first.Op != ">=" || !first.HasGoal ||
		!near(first.Goal, 484) || !near(first.Ours, 265) || first.Met != "no" || first.Reference != "pure-ftpd 484" {
		t.Errorf("first target = %+v", first)
	}
	if r, ok := first.Ratio(); !ok || !near(r, 265.0/484) {
		t.Errorf("ratio of an at-least target = %v, %v", r, ok)
	}
	last := ts[len(ts)-1] // LIST curl: at most vsftpd's time
	if r, ok := last.Ratio(); last.Op != "<=" || !ok || !near(r, last.Goal/last.Ours) {
		t.Errorf("at-most target %+v: ratio %v, %v", last, r, ok)
	}
	if _, err := ParseTargets(strings.NewReader("x\t1\tref\t== 2\tyes\n")); err == nil {
		t.Error("target with operator == parsed")
	}
	ts, err := ParseTargets(strings.NewReader("x\tn/a\tref\t>= n/a\tn/a\n"))
	if err != nil || len(ts) != 1 {
		t.Fatalf("n/a row: %v, %v", ts, err)
	}
	if _, ok := ts[0].Ratio(); ok {
		t.Error("n/a row has a ratio")
	}
}

func TestWriteAll(t *testing.T) {
	s, ts := loadTestdata(t)
	dir := t.TempDir()
	files, err := writeAll(s, ts, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(specs())+1 {
		t.Errorf("wrote %d files, want %d", len(files), len(specs())+1)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 1000 || string(b[1:4]) != "PNG" {
			t.Errorf("%s: not a PNG (%d bytes)", filepath.Base(f), len(b))
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }
