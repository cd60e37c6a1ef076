// Command chart (bench/chart) draws the PNG charts of one peers-benchmark
// run (bench/peers/run.sh): one bar chart per comparison, the four servers
// side by side (medians, min–max bars), the machine's limits of the same
// run as lines, and issue #7's targets as ratios.
//
//	go run ./bench/chart -run /var/tmp/ftpbench/results/latest -out docs/benchmarks
//
// -run DIR reads DIR/samples.tsv and, if present, DIR/targets.tsv; -samples
// and -targets name the files directly.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	run := flag.String("run", "", "run directory holding samples.tsv and targets.tsv")
	samplesFile := flag.String("samples", "", "samples.tsv (default: RUN/samples.tsv)")
	targetsFile := flag.String("targets", "", "targets.tsv (default: RUN/targets.tsv when it exists)")
	out := flag.String("out", ".", "directory for the PNG files")
	flag.Parse()
	if err := mainErr(*run, *samplesFile, *targetsFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func mainErr(run, samplesFile, targetsFile, out string) error {
	if samplesFile == "" {
		if run == "" {
			return errors.New("give -run DIR or -samples FILE")
		}
		samplesFile = filepath.Join(run, "samples.tsv")
	}
	optionalTargets := false
	if targetsFile == "" && run != "" {
		targetsFile, optionalTargets = filepath.Join(run, "targets.tsv"), true
	}
	s, err := load(samplesFile, ParseSamples)
	if err != nil {
		return err
	}
	var ts []Target
	if targetsFile != "" {
		ts, err = load(targetsFile, ParseTargets)
		if err != nil && (!optionalTargets || !errors.Is(err, os.ErrNotExist)) {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files, err := writeAll(s, ts, out)
	for _, f := range files {
		fmt.Println(f)
	}
	return err
}

func load[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
