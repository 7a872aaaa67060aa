package authority

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/epermit/epermit/permit"
)

// The cache's own rules, without a store: the generation guard, the ttl
// and the size bound.
func TestClientCache(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	h := sha256.Sum256([]byte("epv_x"))
	c := &permit.Client{ID: 7, Role: permit.RoleVerifier, Name: "Gate", KeyHash: h[:]}
	tests := []struct {
		name string
		run  func(cc *clientCache) *permit.Client
		hit  bool
	}{
		{"put then get", func(cc *clientCache) *permit.Client {
			cc.put(h, c, cc.generation(), now)
			return cc.get(h, permit.RoleVerifier, now.Add(time.Second))
		}, true},
		{"a check that began before a change", func(cc *clientCache) *permit.Client {
			gen := cc.generation()
			cc.invalidate()
			cc.put(h, c, gen, now)
			return cc.get(h, permit.RoleVerifier, now)
		}, false},
		{"invalidated", func(cc *clientCache) *permit.Client {
			cc.put(h, c, cc.generation(), now)
			cc.invalidate()
			return cc.get(h, permit.RoleVerifier, now)
		}, false},
		{"ttl old", func(cc *clientCache) *permit.Client {
			cc.put(h, c, cc.generation(), now)
			return cc.get(h, permit.RoleVerifier, now.Add(5*time.Second))
		}, false},
		{"clock went back", func(cc *clientCache) *permit.Client {
			cc.put(h, c, cc.generation(), now)
			return cc.get(h, permit.RoleVerifier, now.Add(-time.Second))
		}, false},
		{"other role", func(cc *clientCache) *permit.Client {
			cc.put(h, c, cc.generation(), now)
			return cc.get(h, permit.RoleInstitution, now)
		}, false},
		{"entry's hash differs", func(cc *clientCache) *permit.Client {
			other := *c
			other.KeyHash = make([]byte, sha256.Size)
			cc.put(h, &other, cc.generation(), now)
			return cc.get(h, permit.RoleVerifier, now)
		}, false},
		{"cache off", func(cc *clientCache) *permit.Client {
			cc.ttl = -1
			cc.put(h, c, cc.generation(), now)
			return cc.get(h, permit.RoleVerifier, now)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := &clientCache{ttl: 5 * time.Second}
			got := tc.run(cc)
			if (got != nil) != tc.hit || got != nil && got.ID != c.ID {
				t.Errorf("got %+v; want hit %v", got, tc.hit)
			}
		})
	}

	t.Run("bounded", func(t *testing.T) {
		cc := &clientCache{ttl: 5 * time.Second}
		for i := range maxCachedClients + 10 {
			k := sha256.Sum256([]byte("epv_" + strconv.Itoa(i)))
			cc.put(k, &permit.Client{ID: int64(i), Role: permit.RoleVerifier, KeyHash: k[:]}, cc.generation(), now)
		}
		if len(cc.entries) != maxCachedClients {
			t.Fatalf("%d entries; want the bound, %d", len(cc.entries), maxCachedClients)
		}
		// Once the entries are old, a new one takes the room they leave.
		k := sha256.Sum256([]byte("epv_late"))
		cc.put(k, &permit.Client{ID: 1, Role: permit.RoleVerifier, KeyHash: k[:]}, cc.generation(), now.Add(time.Minute))
		if len(cc.entries) != 1 || cc.get(k, permit.RoleVerifier, now.Add(time.Minute)) == nil {
			t.Errorf("%d entries after the old ones expired; want only the new one", len(cc.entries))
		}
	})
}
