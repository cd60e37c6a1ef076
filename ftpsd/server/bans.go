package server

import (
	"net/netip"
	"sync"
	"time"
)

// Login failures and bans (policy limits.maxLoginFailures, limits.banDuration).
//
// Each failed login is remembered per client address for limits.banDuration
// (the window); when one address reaches limits.maxLoginFailures failures in
// the window, it is banned for limits.banDuration and every new control
// connection from it gets 421 at connect. The per-session limit (the same
// number of failures on one connection closes it) stays: a ban covers the
// client that reconnects after each failure.

const (
	// maxTrackedIPs bounds the addresses remembered; past it, expired
	// records are pruned, and if none is, new addresses are not tracked
	// (fail open: a flood of addresses must not exhaust memory).
	maxTrackedIPs = 65536
	// Login failure delays: the n-th failure of a session is answered after
	// min(baseLoginDelay * 2^(n-1), maxLoginDelay).
	defaultLoginDelay    = time.Second
	defaultMaxLoginDelay = 5 * time.Second
)

type ipRecord struct {
	failures []time.Time // within the window, oldest first
	until    time.Time   // banned until, zero when not banned
}

// banList is safe for concurrent use.
type banList struct {
	now func() time.Time
	mu  sync.Mutex
	ips map[netip.Addr]*ipRecord
}

func newBanList(now func() time.Time) *banList {
	return &banList{now: now, ips: map[netip.Addr]*ipRecord{}}
}

// banned reports whether ip is banned now, and until when.
func (b *banList) banned(ip netip.Addr) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.ips[ip]
	if !ok || r.until.IsZero() {
		return false, time.Time{}
	}
	if !b.now().Before(r.until) {
		r.until = time.Time{} // expired
		return false, time.Time{}
	}
	return true, r.until
}

// failure records a failed login from ip and reports whether it got ip
// banned. maxFailures <= 0 or ban <= 0 turns bans off.
func (b *banList) failure(ip netip.Addr, maxFailures int, ban time.Duration) bool {
	if maxFailures <= 0 || ban <= 0 || !ip.IsValid() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	r, ok := b.ips[ip]
	if !ok {
		if len(b.ips) >= maxTrackedIPs {
			b.pruneLocked(now, ban)
			if len(b.ips) >= maxTrackedIPs {
				return false
			}
		}
		r = &ipRecord{}
		b.ips[ip] = r
	}
	kept := r.failures[:0]
	for _, t := range r.failures {
		if now.Sub(t) < ban {
			kept = append(kept, t)
		}
	}
	r.failures = append(kept, now)
	if len(r.failures) > maxFailures {
		r.failures = r.failures[len(r.failures)-maxFailures:]
	}
	if len(r.failures) >= maxFailures {
		r.failures = nil
		r.until = now.Add(ban)
		return true
	}
	return false
}

func (b *banList) pruneLocked(now time.Time, window time.Duration) {
	for ip, r := range b.ips {
		if now.Before(r.until) {
			continue
		}
		if n := len(r.failures); n > 0 && now.Sub(r.failures[n-1]) < window {
			continue
		}
		delete(b.ips, ip)
	}
}

// loginDelay is the wait before the n-th failed login's reply (n >= 1).
func loginDelay(base, maxDelay time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}
