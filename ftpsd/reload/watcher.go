// Package reload notices when ftpsd's mounted files change and reloads them.
//
// The kubelet does not rewrite a projected Secret or ConfigMap file in place.
// A volume looks like this:
//
//	<dir>/..2026_11_25_18_00_00.123456789/tls.crt   the files of one version
//	<dir>/..data -> ..2026_11_25_18_00_00.123456789
//	<dir>/tls.crt -> ..data/tls.crt                 what ftpsd opens
//
// and an update writes a new timestamped folder, points a fresh ..data_tmp
// symlink at it, renames ..data_tmp over ..data (the atomic step), and removes
// the old folder. A watch on tls.crt itself follows the symlinks to the old
// folder's inode and sees that folder go away, not the new content. So the
// Watcher watches the directories instead, re-reads the files after any event
// in them, and compares their content with what it saw last; a periodic poll
// of the same comparison heals any missed event.
package reload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the Watcher's timing.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultDebounce     = 100 * time.Millisecond
	// maxDebounceWait bounds how long a steady stream of events can delay a
	// check, as a multiple of the debounce delay.
	maxDebounceFactor = 10
)

// Option configures a Watcher or a CertificateSource.
type Option func(*options)

type options struct {
	pollInterval time.Duration
	debounce     time.Duration
	onError      func(error)
	onCert       func(*CertificateSource)
	noEvents     bool // tests: poll only, as when fsnotify is unavailable
}

func buildOptions(opts []Option) options {
	o := options{pollInterval: DefaultPollInterval, debounce: DefaultDebounce}
	for _, opt := range opts {
		opt(&o)
	}
	if o.onError == nil {
		o.onError = func(err error) { slog.Error("reload", "error", err) }
	}
	return o
}

// WithPollInterval sets how often the files are re-read even without an
// event (default 10s). Zero or less turns polling off.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) { o.pollInterval = d }
}

// WithDebounce sets how long the Watcher waits after the last event before it
// re-reads the files (default 100ms), so that one kubelet update, which is
// several events, gives one reload.
func WithDebounce(d time.Duration) Option {
	return func(o *options) { o.debounce = d }
}

// WithErrorHandler receives every error: files that cannot be read, watches
// that cannot be set up, and failed reloads. The default logs them with
// slog.Default(). It is called from the watching goroutine (or from the
// caller of CertificateSource.Reload) and must not block for long.
func WithErrorHandler(f func(error)) Option {
	return func(o *options) { o.onError = f }
}

// WithCertificateCallback is called by a CertificateSource each time it
// starts serving a new certificate (the first one included), for metrics
// (Leaf's NotAfter and serial) and logs. It runs while the source holds its
// load lock: it may call Leaf and GetCertificate, not Reload. A Watcher
// ignores it.
func WithCertificateCallback(f func(*CertificateSource)) Option {
	return func(o *options) { o.onCert = f }
}

// Watcher calls a function when the content of any of a set of files may have
// changed: after fsnotify events in their directories (debounced), and on a
// periodic poll. It fires only when some file's bytes really differ from what
// it last saw (a file that disappears or appears counts as a change).
//
// onChange is called from Start's goroutine, never concurrently with itself.
// When it returns an error, the error is reported and the change is not taken
// as handled: the next event or poll calls onChange again, so a load that
// failed because it raced with an update heals on its own, and a file that
// stays broken keeps being reported.
type Watcher struct {
	paths    []string
	onChange func() error
	opts     options

	seen    map[string]fileState // last handled state, per path; Start's goroutine only
	trigger chan struct{}
	started atomic.Bool
	checks  atomic.Uint64 // completed checks, for tests
}

// fileState is what a file held the last time it was read.
type fileState struct {
	exists bool
	sum    [sha256.Size]byte
}

// NewWatcher returns a Watcher for paths; it records their current content
// (missing files are allowed). Create it before loading the files the first
// time, so that a change between that load and Start is not missed.
func NewWatcher(paths []string, onChange func() error, opts ...Option) (*Watcher, error) {
	return newWatcher(paths, onChange, buildOptions(opts))
}

func newWatcher(paths []string, onChange func() error, o options) (*Watcher, error) {
	if len(paths) == 0 {
		return nil, errors.New("reload: no files to watch")
	}
	if onChange == nil {
		return nil, errors.New("reload: onChange is nil")
	}
	w := &Watcher{
		onChange: onChange,
		opts:     o,
		seen:     make(map[string]fileState),
		trigger:  make(chan struct{}, 1),
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("reload: %s: %w", p, err)
		}
		if !slices.Contains(w.paths, abs) {
			w.paths = append(w.paths, abs)
		}
	}
	states, err := w.readStates()
	if err != nil {
		return nil, err
	}
	w.seen = states
	return w, nil
}

// Trigger asks a started Watcher to re-read the files now, as on SIGHUP. It
// does not block.
func (w *Watcher) Trigger() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Start watches until ctx is done, then returns nil. If fsnotify cannot be
// used (inotify limits are a common cause), the error is reported and the
// Watcher carries on with polling alone. Start may be called once.
func (w *Watcher) Start(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("reload: Watcher already started")
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	fsw, err := fsnotify.NewWatcher()
	if w.opts.noEvents && err == nil {
		fsw.Close()
		fsw, err = nil, errors.New("disabled")
	}
	if err != nil {
		w.opts.onError(fmt.Errorf("reload: file events unavailable, polling only: %w", err))
	} else {
		defer fsw.Close()
		events, errs = fsw.Events, fsw.Errors
		w.syncWatches(fsw)
	}
	// A change between NewWatcher and the watches being set up has no event;
	// look once now.
	w.check()

	var pollC <-chan time.Time
	if w.opts.pollInterval > 0 {
		poll := time.NewTicker(w.opts.pollInterval)
		defer poll.Stop()
		pollC = poll.C
	}
	// Armed by events only. (Since Go 1.23 a stopped timer's channel holds
	// no stale tick, so Stop and Reset need no draining.)
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var firstPending time.Time // zero when no event is pending

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			// Any event in a watched directory may concern our files: the
			// kubelet's are on ..data, ..data_tmp and ..<timestamp>, never
			// on the per-key names.
			if !ok {
				events = nil
				continue
			}
			if isDataSwap(ev) {
				// The kubelet's atomic switch to a complete new version:
				// every file reads consistently now, so waiting for the
				// burst to settle would only delay a renewed certificate.
				// The trailing check below still runs once the burst ends.
				w.check()
			}
			now := time.Now()
			if firstPending.IsZero() {
				firstPending = now
			}
			delay := w.opts.debounce
			if limit := firstPending.Add(maxDebounceFactor * w.opts.debounce); now.Add(delay).After(limit) {
				delay = max(0, limit.Sub(now))
			}
			debounce.Reset(delay)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Typically an overflowed event queue: events were lost, so look.
			w.opts.onError(fmt.Errorf("reload: file events: %w", err))
			w.Trigger()
		case <-debounce.C:
			firstPending = time.Time{}
			w.check()
			if fsw != nil {
				w.syncWatches(fsw)
			}
		case <-pollC:
			if fsw != nil {
				w.syncWatches(fsw)
			}
			w.check()
		case <-w.trigger:
			w.check()
		}
	}
}

// isDataSwap tells whether ev is the kubelet's rename of ..data_tmp onto
// ..data, which makes a new version of a mounted volume visible at once.
func isDataSwap(ev fsnotify.Event) bool {
	return filepath.Base(ev.Name) == "..data" && ev.Has(fsnotify.Create)
}

// check re-reads the files and calls onChange if any differs from what was
// last handled.
func (w *Watcher) check() {
	defer w.checks.Add(1)
	states, err := w.readStates()
	if err != nil {
		w.opts.onError(err)
		return
	}
	changed := false
	for p, st := range states {
		if w.seen[p] != st {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	if err := w.onChange(); err != nil {
		w.opts.onError(err)
		return
	}
	w.seen = states
}

// readStates hashes every file. A missing file is a state of its own; any
// other read error fails the whole read, so that a transient error is not
// taken for a change.
func (w *Watcher) readStates() (map[string]fileState, error) {
	states := make(map[string]fileState, len(w.paths))
	for _, p := range w.paths {
		data, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			states[p] = fileState{}
		case err != nil:
			return nil, fmt.Errorf("reload: %w", err)
		default:
			states[p] = fileState{exists: true, sum: sha256.Sum256(data)}
		}
	}
	return states, nil
}

// syncWatches makes fsnotify watch the directory of each path and the
// directory its symlinks finally lead to (for a link that points out of its
// own directory, say into /etc/letsencrypt/archive). Directories that do not
// exist yet are retried on the next call; watches on directories no longer
// wanted are dropped.
func (w *Watcher) syncWatches(fsw *fsnotify.Watcher) {
	want := map[string]bool{}
	for _, p := range w.paths {
		want[filepath.Dir(p)] = true
		if resolved, err := filepath.EvalSymlinks(p); err == nil {
			dir := filepath.Dir(resolved)
			// The kubelet's ..<timestamp> folders are inside the watched
			// directory and never change once written: no need to watch them.
			if !isKubeletVersionDir(filepath.Dir(p), dir) {
				want[dir] = true
			}
		}
	}
	have := map[string]bool{}
	for _, d := range fsw.WatchList() {
		have[d] = true
	}
	for d := range want {
		if have[d] {
			continue
		}
		if err := fsw.Add(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.opts.onError(fmt.Errorf("reload: watching %s: %w", d, err))
		}
	}
	for d := range have {
		if !want[d] {
			_ = fsw.Remove(d) // may already be gone with its directory
		}
	}
}

// isKubeletVersionDir reports whether dir is a "..<something>" folder directly
// inside parent.
func isKubeletVersionDir(parent, dir string) bool {
	return filepath.Dir(dir) == parent && strings.HasPrefix(filepath.Base(dir), "..")
}
