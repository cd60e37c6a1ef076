package users

import (
	"container/list"
	"sync"
)

// defaultCacheEntries bounds the verified-credential cache. Each entry is a
// 32-byte key plus list overhead, so the cache stays well under a megabyte.
const defaultCacheEntries = 4096

// cacheKey is HMAC-SHA256(per-store random key, username NUL password NUL
// passwordHash). Without the random key, which never leaves the process, an
// entry cannot be tested against a guessed password, so the cache proves
// nothing to someone who reads memory dumps of it alone.
type cacheKey [32]byte

// credCache is a bounded LRU set of keys of credentials that verified
// successfully. It is safe for concurrent use.
type credCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are cacheKey
	items map[cacheKey]*list.Element
}

func newCredCache(max int) *credCache {
	return &credCache{max: max, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

// contains reports whether k is cached, and marks it recently used.
func (c *credCache) contains(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if ok {
		c.order.MoveToFront(el)
	}
	return ok
}

// add caches k, evicting the least recently used key when full.
func (c *credCache) add(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.MoveToFront(el)
		return
	}
	if c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(cacheKey))
	}
	c.items[k] = c.order.PushFront(k)
}

func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
