package server

import (
	"fmt"
	"os"
	"sync"
)

// homes hands out one os.Root per home directory, shared by every session
// logged in to it: an idle session then holds one file descriptor (its
// socket) rather than two, which is what lets tens of thousands of idle
// sessions fit under common descriptor limits. os.Root is safe for use by
// several goroutines at once; a shared root is closed when its last
// session lets go.
type homes struct {
	parent *os.Root
	mu     sync.Mutex
	open   map[string]*sharedHome
}

type sharedHome struct {
	root *os.Root
	refs int
}

func newHomes(parent *os.Root) *homes {
	return &homes{parent: parent, open: map[string]*sharedHome{}}
}

// acquire returns the root of dir (relative to the server root), creating
// the folder if needed. Each successful acquire needs one release.
func (h *homes) acquire(dir string) (*os.Root, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sh := h.open[dir]; sh != nil {
		sh.refs++
		return sh.root, nil
	}
	if dir != "." {
		if err := h.parent.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("home %q: %w", dir, err)
		}
	}
	root, err := h.parent.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("home %q: %w", dir, err)
	}
	h.open[dir] = &sharedHome{root: root, refs: 1}
	return root, nil
}

// release gives back one acquire of dir.
func (h *homes) release(dir string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sh := h.open[dir]
	if sh == nil {
		return
	}
	if sh.refs--; sh.refs == 0 {
		delete(h.open, dir)
		_ = sh.root.Close()
	}
}

// count is how many home roots are open (tests).
func (h *homes) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.open)
}
