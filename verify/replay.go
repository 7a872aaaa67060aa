package verify

import (
	"sync"
	"time"
)

// DefaultReplayCapacity holds every presentation a gate can see within the
// proof window at well over a thousand scans a second.
const DefaultReplayCapacity = 100_000

// ReplayCache remembers (cti, proof iat) pairs until their proof would be
// stale anyway (spec §4 check 10). It is bounded: when full it forgets the
// oldest entry first, so a gate under a flood loses replay protection for
// the oldest proofs rather than memory. It is safe for concurrent use.
type ReplayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[replayKey]time.Time // → when the entry may be forgotten
	order []replayKey             // insertion order, oldest first from head
	head  int
}

type replayKey struct {
	cti [16]byte
	iat int64
}

// NewReplayCache returns a cache for at most capacity entries.
func NewReplayCache(capacity int) *ReplayCache {
	if capacity < 1 {
		capacity = 1
	}
	return &ReplayCache{max: capacity, seen: make(map[replayKey]time.Time)}
}

// Seen reports whether (cti, iat) was seen before, and otherwise remembers
// it until forget.
func (c *ReplayCache) Seen(cti [16]byte, iat, now, forget time.Time) bool {
	k := replayKey{cti, iat.Unix()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[k]; ok {
		return true
	}
	// Entries are forgotten in roughly insertion order (all live one proof
	// window), so dropping from the old end until a live one is enough.
	for c.head < len(c.order) {
		old := c.order[c.head]
		if len(c.seen) < c.max && now.Before(c.seen[old]) {
			break
		}
		delete(c.seen, old)
		c.head++
	}
	if c.head > len(c.order)/2 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
	c.order = append(c.order, k)
	c.seen[k] = forget
	return false
}

// Len is the number of remembered presentations.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
