package soak

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is what a run measured and found.
type Result struct {
	Options Options
	Dir     string // work folder, kept when the run failed or Options.Dir was given
	LogPath string // ftpsd's log (in Dir)

	Elapsed            time.Duration
	Ops                [numOps]int64
	Logins             int64
	BytesUp, BytesDown int64
	HiddenSeen         int64
	Errors             map[string]int64 // unexpected replies, I/O errors, wrong contents, by kind
	ErrorSamples       []string

	FilesChecked int
	BytesChecked int64
	Problems     []string // from the final check of the storage root

	Before, After Sample   // idle baseline, and once the sessions closed
	Samples       []Sample // during the load
	SampleErrors  []string
	DrainWait     time.Duration
	FinalMetrics  map[string]float64

	ExitErr            error
	LogWarn, LogErrors int
	LogLines           []string
}

// provoked is the count of failed transfers the sessions caused on purpose.
func (r *Result) provoked() int64 { return r.Ops[opAbortABOR] + r.Ops[opAbortRST] }

func (r *Result) errorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// serverFailedTransfers sums ftpsd's transfers whose result was not ok.
func (r *Result) serverFailedTransfers() int64 {
	var n float64
	for k, v := range r.FinalMetrics {
		if strings.HasPrefix(k, "ftpsd_transfers_total{") && !strings.Contains(k, `result="ok"`) {
			n += v
		}
	}
	return int64(n)
}

// rssThirds returns the median RSS of the second and of the last third of
// the load's samples (the first third is the warm-up).
func (r *Result) rssThirds() (second, last int64, ok bool) {
	n := len(r.Samples)
	if n < 6 {
		return 0, 0, false
	}
	rss := func(s []Sample) int64 { return median(s, func(x Sample) int64 { return x.RSS }) }
	return rss(r.Samples[n/3 : 2*n/3]), rss(r.Samples[2*n/3:]), true
}

// Failures lists what the run found wrong; empty means it passed.
func (r *Result) Failures() []string {
	var out []string
	o := r.Options
	if n := r.errorCount(); n > 0 {
		out = append(out, fmt.Sprintf("%d unexpected replies, I/O errors or wrong contents (by kind: %v; first: %v)", n, r.Errors, first(r.ErrorSamples, 3)))
	}
	for _, p := range r.Problems {
		out = append(out, "storage: "+p)
	}
	for i, n := range r.Ops {
		abort := op(i) == opAbortABOR || op(i) == opAbortRST
		if n == 0 && (!abort || o.AborterEvery <= o.Sessions) {
			out = append(out, fmt.Sprintf("no %s happened: the run is too short to prove anything", opNames[i]))
		}
	}
	if r.provoked() > 0 && r.HiddenSeen == 0 {
		out = append(out, "no aborted upload was caught with its temporary file on disk: the half-file checks proved nothing")
	}
	if second, last, ok := r.rssThirds(); !ok {
		out = append(out, fmt.Sprintf("only %d samples of the server: too few to judge its memory", len(r.Samples)))
	} else if limit := int64(float64(second)*(1+o.RSSGrowth)) + o.RSSSlack; last > limit {
		out = append(out, fmt.Sprintf("RSS grew after warm-up: median %s in the last third, %s in the second (limit %s)", mib(last), mib(second), mib(limit)))
	}
	if r.After.Sessions != 0 {
		out = append(out, fmt.Sprintf("ftpsd_sessions_active is %d after every session closed", r.After.Sessions))
	}
	if r.After.Goroutines > r.Before.Goroutines+o.GoroutineSlack {
		out = append(out, fmt.Sprintf("goroutines did not come back: %d after, %d before (slack %d)", r.After.Goroutines, r.Before.Goroutines, o.GoroutineSlack))
	}
	if r.After.FDs > r.Before.FDs+o.FDSlack {
		out = append(out, fmt.Sprintf("file descriptors did not come back: %d after, %d before (slack %d)", r.After.FDs, r.Before.FDs, o.FDSlack))
	}
	if r.errorCount() == 0 && r.FinalMetrics != nil && r.serverFailedTransfers() != r.provoked() {
		out = append(out, fmt.Sprintf("ftpsd counted %d failed or aborted transfers, the sessions provoked %d", r.serverFailedTransfers(), r.provoked()))
	}
	if r.LogErrors > 0 {
		out = append(out, fmt.Sprintf("ftpsd logged %d errors (first: %v)", r.LogErrors, first(r.LogLines, 3)))
	}
	if len(r.SampleErrors) > 0 {
		out = append(out, fmt.Sprintf("%d samples of the server failed (first: %v)", len(r.SampleErrors), first(r.SampleErrors, 3)))
	}
	if r.ExitErr != nil {
		out = append(out, fmt.Sprintf("ftpsd did not exit cleanly on SIGTERM: %v", r.ExitErr))
	}
	return out
}

// Summary is the report of a run, one table.
func (r *Result) Summary() string {
	o := r.Options
	var b strings.Builder
	failures := r.Failures()
	verdict := "PASS"
	if len(failures) > 0 {
		verdict = fmt.Sprintf("FAIL (%d)", len(failures))
	}
	aborters := 0
	if o.AborterEvery > 0 {
		aborters = o.Sessions / o.AborterEvery
	}
	fmt.Fprintf(&b, "ftpsd soak, %s: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), verdict)
	fmt.Fprintf(&b, "%d sessions (%d of them also abort uploads) over %d users for %s (ran %s), seed %d\n",
		o.Sessions, aborters, o.Users, o.Duration, r.Elapsed.Round(time.Second), o.Seed)
	fmt.Fprintf(&b, "files of 0 B to %s (1%% up to %s), mean pause %s, a new login every ~%d operations\n\n",
		mib(o.MaxSize), mib(o.LargeSize), o.Think, o.OpsPerSession)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	var total int64
	for i, n := range r.Ops {
		total += n
		row("  "+opNames[i], fmt.Sprint(n))
	}
	row("operations (ok)", fmt.Sprintf("%d, %.0f/s", total, float64(total)/r.Elapsed.Seconds()))
	row("logins", fmt.Sprint(r.Logins))
	row("bytes up / down", fmt.Sprintf("%s / %s (%.1f / %.1f MiB/s)", mib(r.BytesUp), mib(r.BytesDown),
		float64(r.BytesUp)/(1<<20)/r.Elapsed.Seconds(), float64(r.BytesDown)/(1<<20)/r.Elapsed.Seconds()))
	errs := fmt.Sprint(r.errorCount())
	if len(r.Errors) > 0 {
		errs += fmt.Sprintf(" %v", r.Errors)
	}
	row("errors (unexpected)", errs)
	row("failed transfers", fmt.Sprintf("%d provoked by the sessions, %d counted by ftpsd", r.provoked(), r.serverFailedTransfers()))
	row("half files hidden", fmt.Sprintf("%d aborted uploads caught with their temporary file on disk and out of MLSD", r.HiddenSeen))
	row("files checked at end", fmt.Sprintf("%d (%s) by SHA-256, %d problems", r.FilesChecked, mib(r.BytesChecked), len(r.Problems)))
	n := len(r.Samples)
	if n > 0 {
		after := r.Samples[n/3:]
		stat := func(f func(Sample) int64) string {
			v := make([]int64, len(after))
			for i, s := range after {
				v[i] = f(s)
			}
			return fmt.Sprintf("%s / %s / %s", mib(slices.Min(v)), mib(median(after, f)), mib(slices.Max(v)))
		}
		row("samples", fmt.Sprintf("%d every %s; the first third is the warm-up", n, o.SampleEvery))
		row("RSS min/median/max", stat(func(s Sample) int64 { return s.RSS }))
		row("USS min/median/max", stat(func(s Sample) int64 { return s.USS }))
		row("heap in use min/median/max", stat(func(s Sample) int64 { return s.HeapInuse }))
		if second, last, ok := r.rssThirds(); ok {
			row("RSS median 2nd -> 3rd third", fmt.Sprintf("%s -> %s (%+.1f%%; limit +%.0f%% + %s)", mib(second), mib(last),
				100*(float64(last)/float64(second)-1), 100*o.RSSGrowth, mib(o.RSSSlack)))
		}
	}
	peakG, peakF, peakS := 0, 0, 0
	for _, s := range r.Samples {
		peakG, peakF, peakS = max(peakG, s.Goroutines), max(peakF, s.FDs), max(peakS, s.Sessions)
	}
	row("goroutines before/peak/after", fmt.Sprintf("%d / %d / %d", r.Before.Goroutines, peakG, r.After.Goroutines))
	row("fds before/peak/after", fmt.Sprintf("%d / %d / %d", r.Before.FDs, peakF, r.After.FDs))
	row("sessions peak/after", fmt.Sprintf("%d / %d (idle again %s after the load)", peakS, r.After.Sessions, r.DrainWait.Round(10*time.Millisecond)))
	row("RSS before/after", fmt.Sprintf("%s / %s", mib(r.Before.RSS), mib(r.After.RSS)))
	row("ftpsd log", fmt.Sprintf("%d warnings, %d errors", r.LogWarn, r.LogErrors))
	_ = tw.Flush()

	if len(failures) > 0 {
		b.WriteString("\nfailures:\n")
		for _, f := range failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		if r.Dir != "" {
			fmt.Fprintf(&b, "work folder kept: %s (ftpsd log %s)\n", r.Dir, r.LogPath)
		}
	}
	return b.String()
}

func median(s []Sample, f func(Sample) int64) int64 {
	v := make([]int64, len(s))
	for i, x := range s {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func mib(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
