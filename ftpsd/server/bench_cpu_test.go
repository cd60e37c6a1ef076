//go:build unix

package server

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time so far. On a machine
// shared with other work it varies much less than wall time, and it counts
// every goroutine (server and client alike).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
