// Command soak runs ftpsd under a long mixed load (test/soak) and writes its
// summary to a file:
//
//	go run ./test/soak/cmd/soak -sessions 500 -duration 5m -out bin/reliability
//
// It exits 1 when a check failed; the summary says which.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ftps-operator/ftps-operator/test/soak"
)

func main() {
	var o soak.Options
	var out string
	flag.StringVar(&o.FTPSD, "ftpsd", "", "ftpsd binary (built from ./ftpsd/cmd/ftpsd when empty)")
	flag.StringVar(&o.Dir, "dir", "", "work folder, kept (a temporary one, removed after a passing run, when empty)")
	flag.IntVar(&o.Sessions, "sessions", 500, "concurrent sessions")
	flag.DurationVar(&o.Duration, "duration", 5*time.Minute, "how long the load runs")
	flag.IntVar(&o.Users, "users", 4, "users the sessions are spread over")
	flag.Int64Var(&o.MaxSize, "max-size", 2<<20, "most files are at most this many bytes")
	flag.Int64Var(&o.LargeSize, "large-size", 8<<20, "one upload in a hundred is up to this many bytes")
	flag.DurationVar(&o.Think, "think", 100*time.Millisecond, "mean pause between two operations of a session")
	flag.DurationVar(&o.SampleEvery, "sample-every", 2*time.Second, "how often the server is sampled")
	flag.Uint64Var(&o.Seed, "seed", 0, "random seed (0: random)")
	flag.StringVar(&out, "out", "bin/reliability", "folder of the summary file soak-<time>.txt")
	flag.Parse()
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now().UTC()
	res, err := soak.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	summary := res.Summary()
	fmt.Print(summary)
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		p := filepath.Join(out, "soak-"+started.Format("20060102T150405Z")+".txt")
		if err := os.WriteFile(p, []byte(summary), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "soak: summary written to", p)
	}
	if len(res.Failures()) > 0 {
		os.Exit(1)
	}
}
