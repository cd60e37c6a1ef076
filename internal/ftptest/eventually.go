package ftptest

import (
	"testing"
	"time"
)

// Eventually calls cond every interval until it returns nil, and fails the
// test with cond's last error when timeout has passed (a safety bound, not
// a measure). It calls cond at most timeout/interval+1 times, and at least
// once.
func Eventually(t testing.TB, timeout, interval time.Duration, what string, cond func() error) {
	t.Helper()
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	tries := int(timeout/interval) + 1
	var err error
	for i := 0; i < tries; i++ {
		if err = cond(); err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			break
		}
		time.Sleep(interval)
	}
	t.Fatalf("%s: not within %s: %v", what, timeout, err)
}

// Holds turns a condition into one for Eventually: nil when cond holds.
func Holds(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}
}

type notYet struct{}

func (notYet) Error() string { return "the condition does not hold" }

var errNotYet error = notYet{}
