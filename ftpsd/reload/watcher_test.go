package reload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatcherFiresOnKubeletSwap(t *testing.T) {
	k := newKubeletDir(t, map[string][]byte{"users.yaml": []byte("users: []\n"), "other": []byte("x")})
	var calls atomic.Int32
	var errs errorLog
	// No polling: only the directory events can make this pass.
	w, err := NewWatcher([]string{k.path("users.yaml")}, func() error { calls.Add(1); return nil },
		WithPollInterval(0), WithErrorHandler(errs.handle))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)

	k.swap(map[string][]byte{"users.yaml": []byte("users: [{username: a}]\n"), "other": []byte("x")})
	waitFor(t, "onChange after a ..data swap", func() bool { return calls.Load() == 1 })

	// The same content again, as a new version: events, but no change.
	checks := w.checks.Load()
	k.swap(map[string][]byte{"users.yaml": []byte("users: [{username: a}]\n"), "other": []byte("x")})
	waitFor(t, "a check after the identical rewrite", func() bool { return w.checks.Load() > checks })
	// Another key changing does not concern this Watcher either.
	checks = w.checks.Load()
	k.swap(map[string][]byte{"users.yaml": []byte("users: [{username: a}]\n"), "other": []byte("y")})
	waitFor(t, "a check after a change to another key", func() bool { return w.checks.Load() > checks })
	time.Sleep(3 * DefaultDebounce) // let any straggling event be handled
	if n := calls.Load(); n != 1 {
		t.Errorf("onChange called %d times, want 1: an identical rewrite fired", n)
	}

	k.swap(map[string][]byte{"users.yaml": []byte("users: [{username: b}]\n")})
	waitFor(t, "onChange after a second swap", func() bool { return calls.Load() == 2 })
	if e := errs.snapshot(); len(e) > 0 {
		t.Errorf("errors reported: %v", e)
	}
}

// The kubelet's ..data swap is acted on at once, without the debounce delay
// that other events wait for: a renewed certificate is served as soon as it
// is complete.
func TestWatcherSwapSkipsDebounce(t *testing.T) {
	k := newKubeletDir(t, newTestPair(t, 1).files())
	var calls atomic.Int32
	// A debounce of an hour and no polling: only the swap itself can make
	// this pass within waitFor's bound.
	w, err := NewWatcher([]string{k.path("tls.crt"), k.path("tls.key")}, func() error { calls.Add(1); return nil },
		WithPollInterval(0), WithDebounce(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	k.swap(newTestPair(t, 2).files())
	waitFor(t, "onChange right after the ..data swap", func() bool { return calls.Load() == 1 })
}

// One kubelet update is several events; with the debounce and the content
// comparison it is one call.
func TestWatcherOneCallPerUpdate(t *testing.T) {
	pair := newTestPair(t, 1)
	k := newKubeletDir(t, pair.files())
	var calls atomic.Int32
	w, err := NewWatcher([]string{k.path("tls.crt"), k.path("tls.key")}, func() error { calls.Add(1); return nil }, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	for i := range int64(3) {
		k.swap(newTestPair(t, 10+i).files())
		want := int32(i + 1)
		waitFor(t, "onChange", func() bool { return calls.Load() >= want })
		time.Sleep(3 * DefaultDebounce)
		if n := calls.Load(); n != want {
			t.Fatalf("after %d updates onChange was called %d times", want, n)
		}
	}
}

// Without any file event (as when inotify is unavailable or an event was
// lost), the poll still notices the change.
func TestWatcherPollHealsMissedEvents(t *testing.T) {
	k := newKubeletDir(t, map[string][]byte{"ftpsd.yaml": []byte("listen: :2121\n")})
	var calls atomic.Int32
	var errs errorLog
	w, err := NewWatcher([]string{k.path("ftpsd.yaml")}, func() error { calls.Add(1); return nil },
		WithPollInterval(50*time.Millisecond), WithErrorHandler(errs.handle), func(o *options) { o.noEvents = true })
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	k.swap(map[string][]byte{"ftpsd.yaml": []byte("listen: :2122\n")})
	waitFor(t, "onChange from the poll", func() bool { return calls.Load() == 1 })
	checks := w.checks.Load()
	waitFor(t, "more polls", func() bool { return w.checks.Load() > checks+3 })
	if n := calls.Load(); n != 1 {
		t.Errorf("unchanged content fired on poll: %d calls", n)
	}
	if e := errs.snapshot(); len(e) != 1 || !strings.Contains(e[0].Error(), "polling only") {
		t.Errorf("errors %v, want one saying events are unavailable", e)
	}
}

// A failed onChange is reported and retried; once it succeeds, the change is
// handled and not retried again.
func TestWatcherRetriesFailedLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.yaml")
	if err := os.WriteFile(path, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var errs errorLog
	w, err := NewWatcher([]string{path}, func() error {
		if calls.Add(1) == 1 {
			return errors.New("parse error")
		}
		return nil
	}, WithPollInterval(50*time.Millisecond), WithErrorHandler(errs.handle))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	// A plain in-place write, as an editor or ConfigMap-less setup does.
	if err := os.WriteFile(path, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retry", func() bool { return calls.Load() == 2 })
	checks := w.checks.Load()
	waitFor(t, "more polls", func() bool { return w.checks.Load() > checks+3 })
	if n := calls.Load(); n != 2 {
		t.Errorf("onChange called %d times, want 2", n)
	}
	if e := errs.snapshot(); len(e) != 1 || !strings.Contains(e[0].Error(), "parse error") {
		t.Errorf("errors %v, want the one parse error", e)
	}
}

// A file that appears or disappears is a change; a watched directory that
// does not exist yet is picked up once it does.
func TestWatcherFileAppearsAndDisappears(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "later", "ca.crt")
	var calls atomic.Int32
	w, err := NewWatcher([]string{path}, func() error { calls.Add(1); return nil }, WithPollInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("ca"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "onChange when the file appears", func() bool { return calls.Load() == 1 })
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "onChange when the file goes", func() bool { return calls.Load() == 2 })
}

func TestWatcherTrigger(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	w, err := NewWatcher([]string{path}, func() error { calls.Add(1); return nil },
		WithPollInterval(0), WithErrorHandler(func(error) {}), func(o *options) { o.noEvents = true })
	if err != nil {
		t.Fatal(err)
	}
	start(t, w.Start)
	waitFor(t, "the first check", func() bool { return w.checks.Load() >= 1 })
	if err := os.WriteFile(path, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Trigger()
	waitFor(t, "onChange after Trigger", func() bool { return calls.Load() == 1 })
}

func TestNewWatcherErrors(t *testing.T) {
	if _, err := NewWatcher(nil, func() error { return nil }); err == nil {
		t.Error("no paths accepted")
	}
	if _, err := NewWatcher([]string{"x"}, nil); err == nil {
		t.Error("nil onChange accepted")
	}
	w, err := NewWatcher([]string{filepath.Join(t.TempDir(), "f")}, func() error { return nil }, WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Start(ctx); err != nil {
		t.Errorf("Start with a done context = %v", err)
	}
	if err := w.Start(ctx); err == nil {
		t.Error("second Start accepted")
	}
}
