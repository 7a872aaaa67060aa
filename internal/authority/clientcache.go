package authority

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	"github.com/epermit/epermit/permit"
)

// DefaultClientKeyCache is Config.ClientKeyCache's default: how long a
// process goes on accepting an API key it has checked against the store
// without checking it again.
const DefaultClientKeyCache = 5 * time.Second

// maxCachedClients bounds the cache. Only keys that authenticated are
// kept, so it holds about one entry per active client; a registry of more
// clients than this is served, past the bound, from the store as before.
const maxCachedClients = 10_000

// clientCache remembers the clients whose API keys authenticated
// recently, so that a busy verifier's every request does not cost a read
// transaction on the store.
//
// Entries are found by the SHA-256 of the key, the value the store keeps
// too: the raw key is never held, and a lookup's timing depends only on a
// digest, which tells nothing about any stored key. The entry's hash is
// still compared with the request's in constant time before it is used.
// Keys that fail are never cached, so unknown keys cannot fill the cache
// and a key registered elsewhere works on its first request.
//
// Staleness is bounded two ways. A change made through this Authority
// (disable, enable, new key, new rate) empties the cache when its
// transaction has committed, and a check that read the store before that
// cannot put its stale answer back (the generation counter). A change made
// by another process on the same store (a replica, the CLI) shows once the
// entry is ttl old.
type clientCache struct {
	ttl time.Duration // ≤ 0: no caching

	mu      sync.RWMutex
	gen     uint64
	entries map[[sha256.Size]byte]cachedClient
}

type cachedClient struct {
	client permit.Client
	at     time.Time // when the store said the key was good
}

// get returns a copy of the client of role whose key hashes to h, if one
// was cached less than ttl before now.
func (cc *clientCache) get(h [sha256.Size]byte, role string, now time.Time) *permit.Client {
	if cc.ttl <= 0 {
		return nil
	}
	cc.mu.RLock()
	e, ok := cc.entries[h]
	cc.mu.RUnlock()
	// A clock that went back (now before at) counts as expired.
	if !ok || now.Before(e.at) || now.Sub(e.at) >= cc.ttl || e.client.Role != role ||
		subtle.ConstantTimeCompare(e.client.KeyHash, h[:]) != 1 {
		return nil
	}
	c := e.client
	return &c
}

// generation is read before a check goes to the store, and given back to
// put with its answer.
func (cc *clientCache) generation() uint64 {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	return cc.gen
}

// put caches c, found at now by a check that started at generation gen,
// unless a change was made since: that check may have read the store
// before the change committed.
func (cc *clientCache) put(h [sha256.Size]byte, c *permit.Client, gen uint64, now time.Time) {
	if cc.ttl <= 0 {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if gen != cc.gen {
		return
	}
	if cc.entries == nil {
		cc.entries = map[[sha256.Size]byte]cachedClient{}
	}
	if len(cc.entries) >= maxCachedClients {
		for k, e := range cc.entries {
			if now.Before(e.at) || now.Sub(e.at) >= cc.ttl {
				delete(cc.entries, k)
			}
		}
		if len(cc.entries) >= maxCachedClients {
			return
		}
	}
	cc.entries[h] = cachedClient{client: *c, at: now}
}

// invalidate forgets every entry and turns away the answers of checks
// still under way. It is called after a client change has committed.
func (cc *clientCache) invalidate() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	clear(cc.entries)
}
