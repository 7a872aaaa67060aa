package authority_test

import (
	"context"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// Expired offers and c_nonces go at the next purge; a presentation request
// stays PresentationKept past its expiry for its institution, then goes
// too; removing offers or requests is audited.
func TestPurgeExpired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		counterOffer(t, f, r, permit.LinkageProofKind)
		counterOffer(t, f, r, permit.TemporaryEPermit)
		if _, err := f.a.CNonce(ctx); err != nil {
			t.Fatal(err)
		}
		bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "bank-1", "bank")
		if err != nil {
			t.Fatal(err)
		}
		pr, err := f.a.CreatePresentation(ctx, bank, dcql("travel_permit_number"), "account opening")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := f.a.PurgeExpired(ctx); err != nil || p != (authority.Purged{}) {
			t.Fatalf("purge with nothing expired = %+v, %v", p, err)
		}
		if n := offerRows(t, db); n != 2 {
			t.Fatalf("%d offers before they expire, want 2", n)
		}

		f.clock.add(max(authority.OfferTTL, authority.CNonceTTL, authority.PresentationTTL))
		if p, err := f.a.PurgeExpired(ctx); err != nil || p != (authority.Purged{Offers: 2, Nonces: 1}) {
			t.Fatalf("purge after the offers expired = %+v, %v", p, err)
		}
		if n := offerRows(t, db); n != 0 {
			t.Errorf("%d offers after the purge, want 0", n)
		}
		if o, err := f.a.PresentationResult(ctx, bank, pr.ID); err != nil || o.State != "expired" {
			t.Errorf("presentation request just expired = %+v, %v; want it kept, expired", o, err)
		}

		f.clock.add(authority.PresentationKept)
		if p, err := f.a.PurgeExpired(ctx); err != nil || p != (authority.Purged{Requests: 1}) {
			t.Fatalf("purge after the request's keeping = %+v, %v", p, err)
		}
		if _, err := f.a.PresentationResult(ctx, bank, pr.ID); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("purged presentation request: %v, want not_found", err)
		}
		ev, _ := f.a.AuditEvents(ctx, "oid4vc")
		if len(ev) != 2 || ev[0].Action != "oid4vc.purge" {
			t.Errorf("purge audit events = %+v, want 2", ev)
		}
	})
}

// RunPurges purges when it starts, and stops with its context.
func TestRunPurges(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	f := newFixture(t, db, authority.Config{})
	counterOffer(t, f, f.validRecord(t, 0), permit.LinkageProofKind)
	f.clock.add(authority.OfferTTL)
	c, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.a.RunPurges(c, time.Hour); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); offerRows(t, db) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the expired offer is still there 10 s after RunPurges started")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunPurges did not stop with its context")
	}
}
