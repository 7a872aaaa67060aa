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
		if len(ks) != 2 || ks[0].Kid != second.Kid || ks[0].State != permit.KeyActive || ks[1].State != permit.KeyRetired {
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
		k    permit.IssuerKey
		want bool
	}{
		{"active", permit.IssuerKey{State: permit.KeyActive}, true},
		{"retired, credentials valid", permit.IssuerKey{State: permit.KeyRetired, RetiredAt: now.AddDate(0, 0, -5), LastExpiry: now.Add(time.Hour)}, true},
		{"retired, within grace", permit.IssuerKey{State: permit.KeyRetired, RetiredAt: now.Add(-time.Hour)}, true},
		{"retired, all expired", permit.IssuerKey{State: permit.KeyRetired, RetiredAt: now.AddDate(0, 0, -5), LastExpiry: now.Add(-time.Second)}, false},
		{"revoked, credentials valid", permit.IssuerKey{State: permit.KeyRevoked, RetiredAt: now.Add(-time.Hour), RevokedAt: now, LastExpiry: now.Add(time.Hour)}, false},
	} {
		if got := authority.Published(tc.k, now); got != tc.want {
			t.Errorf("%s: Published = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A leaked key is revoked: out of the trust list at once, the current
// credentials it signed revoked and audited, their applications no longer
// counted, those of other keys untouched; the active key and a revoked one
// are refused.
func TestRevokeKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		issue := func(i int) *permit.Credential {
			t.Helper()
			tp := f.recs[i].TravelPermits[0]
			c, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &newDevice(t).key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		leaked := issue(0).KeyID
		byLeaked := []*permit.Credential{issue(1), issue(2)}
		issue(4)
		issue(4) // person 4 has used the month's quota of 2
		tp4 := f.recs[4].TravelPermits[0]
		if _, err := f.a.IssueAtCounter(ctx, tp4.Type, tp4.Number, permit.ReasonLost, &newDevice(t).key.PublicKey); permit.ErrorCode(err) != permit.ECodeQuotaExceeded {
			t.Fatalf("a third e-permit in the month: %v; want quota_exceeded", err)
		}
		if _, err := f.a.RevokeKey(ctx, leaked, "leaked"); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("revoking the active key: %v; want conflict", err)
		}
		if _, err := f.a.RotateKey(ctx); err != nil {
			t.Fatal(err)
		}
		byNew := issue(3)

		revoked, err := f.a.RevokeKey(ctx, leaked, "copied off a backup tape")
		if err != nil {
			t.Fatal(err)
		}
		// issue(0)'s and person 4's second e-permits were current too: four.
		if len(revoked) != 4 {
			t.Errorf("RevokeKey revoked %d credentials; want 4", len(revoked))
		}
		// Person 4's revoked e-permit no longer counts: one more this month.
		if _, err := f.a.IssueAtCounter(ctx, tp4.Type, tp4.Number, permit.ReasonLost, &newDevice(t).key.PublicKey); err != nil {
			t.Errorf("after the key was revoked, a new e-permit: %v", err)
		}
		for _, c := range append(byLeaked, byNew) {
			var got *permit.Credential
			if err := db.View(ctx, func(tx *store.Tx) (err error) { got, err = tx.Credential(ctx, c.ID); return err }); err != nil {
				t.Fatal(err)
			}
			want := permit.CredentialRevoked
			if c == byNew {
				want = permit.CredentialActive
			}
			if got.State != want {
				t.Errorf("credential %x signed by %s is %s; want %s", c.ID, c.KeyID, got.State, want)
			}
		}
		set, err := f.a.TrustList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Keys {
			if k.Kid == leaked {
				t.Error("the trust list still publishes the revoked key")
			}
		}
		if evs, _ := f.a.AuditEvents(ctx, "kid:"+leaked); len(evs) == 0 || evs[0].Action != "key.revoke" {
			t.Errorf("audit for the key: %+v; want key.revoke first", evs)
		}
		if _, err := f.a.RevokeKey(ctx, leaked, "again"); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("revoking it again: %v; want conflict", err)
		}
		if _, err := f.a.RevokeKey(ctx, "no-such-kid", "x"); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("revoking an unknown key: %v; want not_found", err)
		}
		if _, err := f.a.RevokeKey(ctx, byNew.KeyID, " "); permit.ErrorCode(err) != permit.ECodeInvalid {
			t.Errorf("revoking without a reason: %v; want invalid", err)
		}
	})
}
