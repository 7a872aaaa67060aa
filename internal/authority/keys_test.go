package authority_test

import (
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestKeysLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAuthority(t, db)
		now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		a.SetClock(func() time.Time { return now })

		if _, err := a.RotateKey(ctx); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Fatalf("rotate with no key = %v, want conflict", err)
		}
		first, err := a.InitKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.InitKeys(ctx); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Fatalf("second init = %v, want conflict", err)
		}
		set, err := a.TrustList(ctx)
		if err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != first.Kid {
			t.Fatalf("trust list = %+v, %v; want the first key", set, err)
		}

		now = now.Add(time.Hour)
		second, err := a.RotateKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ks, _ := a.Keys(ctx)
		if len(ks) != 2 || ks[0].Kid != second.Kid || ks[0].State != store.KeyActive || ks[1].State != store.KeyRetired {
			t.Fatalf("keys after rotate = %+v", ks)
		}
		if set, _ := a.TrustList(ctx); len(set.Keys) != 2 {
			t.Fatalf("right after rotation the trust list has %d keys, want both", len(set.Keys))
		}
		// The retired key signed nothing: it leaves the list after the grace period.
		now = now.Add(authority.RetiredKeyGrace + time.Second)
		set, _ = a.TrustList(ctx)
		if len(set.Keys) != 1 || set.Keys[0].Kid != second.Kid {
			t.Fatalf("trust list after grace = %+v, want only the active key", set.Keys)
		}
		for _, k := range set.Keys {
			if _, err := k.PublicKey(); err != nil {
				t.Fatalf("published key does not check: %v", err)
			}
		}
		if n, err := a.VerifyAudit(ctx); err != nil || n != 2 {
			t.Fatalf("audit = %d, %v; want 2 key events", n, err)
		}
	})
}

func TestPublished(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		k    store.IssuerKey
		want bool
	}{
		{"active", store.IssuerKey{State: store.KeyActive}, true},
		{"retired, credentials valid", store.IssuerKey{State: store.KeyRetired, RetiredAt: now.AddDate(0, 0, -5), LastExpiry: now.Add(time.Hour)}, true},
		{"retired, within grace", store.IssuerKey{State: store.KeyRetired, RetiredAt: now.Add(-time.Hour)}, true},
		{"retired, all expired", store.IssuerKey{State: store.KeyRetired, RetiredAt: now.AddDate(0, 0, -5), LastExpiry: now.Add(-time.Second)}, false},
	} {
		if got := authority.Published(tc.k, now); got != tc.want {
			t.Errorf("%s: Published = %v, want %v", tc.name, got, tc.want)
		}
	}
}
