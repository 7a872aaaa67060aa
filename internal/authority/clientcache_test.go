package authority_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// The API key cache: a key that authenticated is accepted again without
// the store for Config.ClientKeyCache; a change made through the same
// Authority applies at once, one made by another process (here a second
// Authority on the same store, as a replica or the CLI would be) once the
// entry is that old; a key that failed is never remembered.
func TestClientKeyCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const ttl = 5 * time.Second
		f := newFixtureN(t, db, authority.Config{ClientKeyCache: ttl}, 1)
		a := f.a
		other, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.SetClock(f.clock.now)
		c, key, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 1", "airline")
		if err != nil {
			t.Fatal(err)
		}
		auth := func(k string) (*permit.Client, error) { return a.AuthenticateClient(ctx, permit.RoleVerifier, k) }
		ok := func(step, k string) *permit.Client {
			t.Helper()
			got, err := auth(k)
			if err != nil || got.ID != c.ID {
				t.Fatalf("%s: %+v, %v; want client %d", step, got, err, c.ID)
			}
			return got
		}
		denied := func(step, k string) {
			t.Helper()
			if got, err := auth(k); permit.ErrorCode(err) != permit.ECodeUnauthorized {
				t.Fatalf("%s: %+v, %v; want unauthorized", step, got, err)
			}
		}

		// Miss, then hit: disabled elsewhere, the key still works here for
		// less than the ttl (so it was not looked up), and no longer after.
		ok("first use", key)
		if err := other.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", true); err != nil {
			t.Fatal(err)
		}
		f.clock.add(ttl - time.Second)
		ok("disabled elsewhere, within the ttl", key)
		f.clock.add(time.Second)
		denied("disabled elsewhere, ttl passed", key)
		// A refused key is not remembered: enabled elsewhere, it works at once.
		if err := other.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", false); err != nil {
			t.Fatal(err)
		}
		ok("enabled elsewhere", key)

		// A new key made elsewhere works at once; the old one until the ttl.
		newKey, err := other.RotateClientKey(ctx, permit.RoleVerifier, "Gate 1")
		if err != nil {
			t.Fatal(err)
		}
		ok("new key made elsewhere", newKey)
		ok("old key, re-keyed elsewhere, within the ttl", key)
		f.clock.add(ttl)
		denied("old key, re-keyed elsewhere, ttl passed", key)

		// The same changes made here apply at once.
		ok("new key", newKey)
		if err := a.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", true); err != nil {
			t.Fatal(err)
		}
		denied("disabled here", newKey)
		if err := a.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", false); err != nil {
			t.Fatal(err)
		}
		ok("enabled here", newKey)
		latest, err := a.RotateClientKey(ctx, permit.RoleVerifier, "Gate 1")
		if err != nil {
			t.Fatal(err)
		}
		denied("re-keyed here", newKey)
		ok("the newest key", latest)
		if err := a.SetClientRate(ctx, permit.RoleVerifier, "Gate 1", 500); err != nil {
			t.Fatal(err)
		}
		if got := ok("rate set here", latest); got.RateLimit != 500 {
			t.Errorf("rate after set-rate here: %v; want 500", got.RateLimit)
		}
		if err := other.SetClientRate(ctx, permit.RoleVerifier, "Gate 1", 700); err != nil {
			t.Fatal(err)
		}
		if got := ok("rate set elsewhere", latest); got.RateLimit != 500 {
			t.Errorf("rate within the ttl of a change elsewhere: %v; want the cached 500", got.RateLimit)
		}
		f.clock.add(ttl)
		if got := ok("rate set elsewhere, ttl passed", latest); got.RateLimit != 700 {
			t.Errorf("rate after the ttl: %v; want 700", got.RateLimit)
		}

		// A cached key is still only good for its own role.
		if _, err := a.AuthenticateClient(ctx, permit.RoleInstitution, latest); permit.ErrorCode(err) != permit.ECodeUnauthorized {
			t.Errorf("a cached verifier key as an institution's: %v", err)
		}
		// The copy handed out is the caller's: changing it changes no cache.
		got := ok("before changing a copy", latest)
		got.Name, got.Role = "someone else", permit.RoleOfficer
		if again := ok("after changing a copy", latest); again.Name != "Gate 1" {
			t.Errorf("the cache handed out its own entry: name %q", again.Name)
		}

		// A clock set back does not stretch an entry's life.
		f.clock.add(-time.Minute)
		if err := other.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", true); err != nil {
			t.Fatal(err)
		}
		denied("disabled elsewhere, clock set back", latest)
	})
}

// With ClientKeyCache negative every request asks the store.
func TestClientKeyCacheOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{ClientKeyCache: -1}, 1)
		other, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := f.a.AddClient(ctx, permit.RoleInstitution, "Bank 1", "bank")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.AuthenticateClient(ctx, permit.RoleInstitution, key); err != nil {
			t.Fatal(err)
		}
		if err := other.SetClientDisabled(ctx, permit.RoleInstitution, "Bank 1", true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.AuthenticateClient(ctx, permit.RoleInstitution, key); permit.ErrorCode(err) != permit.ECodeUnauthorized {
			t.Errorf("disabled elsewhere, no cache: %v; want unauthorized", err)
		}
	})
}

// A disable made here while requests are checking the key: no request
// that starts after it returned is let in, however the checks interleave
// with the change (a check that read the store before the commit must not
// put its answer in the cache after it).
func TestClientKeyCacheDisableUnderLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{ClientKeyCache: time.Hour}, 1)
		a := f.a
		for round := range 5 {
			name := "Gate " + string(rune('A'+round))
			_, key, err := a.AddClient(ctx, permit.RoleVerifier, name, "railway")
			if err != nil {
				t.Fatal(err)
			}
			var disabled atomic.Bool
			var late atomic.Int64 // requests let in that started after the disable returned
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						after := disabled.Load()
						_, err := a.AuthenticateClient(ctx, permit.RoleVerifier, key)
						if after && err == nil {
							late.Add(1)
						}
						if err != nil && permit.ErrorCode(err) != permit.ECodeUnauthorized {
							t.Error(err)
							return
						}
					}
				})
			}
			time.Sleep(20 * time.Millisecond)
			if err := a.SetClientDisabled(ctx, permit.RoleVerifier, name, true); err != nil {
				t.Fatal(err)
			}
			disabled.Store(true)
			time.Sleep(20 * time.Millisecond)
			close(stop)
			wg.Wait()
			if n := late.Load(); n != 0 {
				t.Fatalf("round %d: %d requests let in after the disable returned", round, n)
			}
		}
	})
}

// BenchmarkAuthenticateClient is one API key check, from the cache and
// from the store (ClientKeyCache off), alternated on one SQLite store
// (PostgreSQL adds a round trip to the store's side): the part of every
// verifier, institution and officer-tool request the cache saves.
func BenchmarkAuthenticateClient(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	f := newFixtureN(b, db, authority.Config{}, 1)
	off, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test", ClientKeyCache: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate 1", "airline")
	if err != nil {
		b.Fatal(err)
	}
	check := func(a *authority.Authority) func(*testing.B) {
		return func(b *testing.B) {
			if _, err := a.AuthenticateClient(ctx, permit.RoleVerifier, key); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("Ratio", func(b *testing.B) {
		var tCached, tStore time.Duration
		for b.Loop() {
			t0 := time.Now()
			check(f.a)(b)
			t1 := time.Now()
			check(off)(b)
			tCached, tStore = tCached+t1.Sub(t0), tStore+time.Since(t1)
		}
		n := float64(b.N)
		b.ReportMetric(float64(tCached.Nanoseconds())/n, "cached-ns/op")
		b.ReportMetric(float64(tStore.Nanoseconds())/n, "store-ns/op")
		b.ReportMetric(tStore.Seconds()/tCached.Seconds(), "store/cached")
	})
}
