package soak

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSoak is the short soak of `make test`: 500 concurrent sessions for
// 20 seconds with small files (the client runs under -race), and every check
// of the long run: files by SHA-256, no half or lost file, flat memory after
// warm-up, goroutines, descriptors and sessions back to the baseline.
// SOAK_FTPSD names a prebuilt ftpsd; otherwise it is built.
func TestSoak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		FTPSD:         os.Getenv("SOAK_FTPSD"),
		Sessions:      500,
		Duration:      20 * time.Second,
		MaxSize:       128 << 10,
		LargeSize:     512 << 10,
		OpsPerSession: 10,
		SampleEvery:   250 * time.Millisecond,
		Progress:      testLog{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Summary())
	for _, f := range res.Failures() {
		t.Error(f)
	}
}

// testLog sends progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
