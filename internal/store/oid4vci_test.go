package store_test

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// A c_nonce is consumed once: by one of many parallel transactions, and,
// when a second transaction presents it while the first has consumed it
// but not yet committed, the second must not see it as fresh.
func TestConsumeCNonceOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		exp := time.Now().Add(time.Hour)
		update(t, db, func(tx *store.Tx) error { return tx.AddCNonce(ctx, "n1", exp) })
		var consumed atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				err := db.Update(ctx, func(tx *store.Tx) error {
					ok, err := tx.ConsumeCNonce(ctx, "n1")
					if ok {
						consumed.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := consumed.Load(); n != 1 {
			t.Errorf("c_nonce consumed by %d of 10 parallel transactions, want 1", n)
		}

		// Interleaved: the first holds its consumption uncommitted while
		// the second asks.
		update(t, db, func(tx *store.Tx) error { return tx.AddCNonce(ctx, "n2", exp) })
		first, release := make(chan struct{}), make(chan struct{})
		var second atomic.Bool
		wg.Go(func() {
			db.Update(ctx, func(tx *store.Tx) error {
				if ok, err := tx.ConsumeCNonce(ctx, "n2"); !ok || err != nil {
					t.Errorf("first: %v %v", ok, err)
				}
				close(first)
				<-release
				return nil
			})
		})
		<-first
		wg.Go(func() {
			db.Update(ctx, func(tx *store.Tx) error {
				ok, err := tx.ConsumeCNonce(ctx, "n2")
				second.Store(ok)
				return err
			})
		})
		time.Sleep(300 * time.Millisecond) // let the second reach the nonce
		close(release)
		wg.Wait()
		if second.Load() {
			t.Error("a c_nonce consumed but not yet committed was consumed again")
		}

		// An expired nonce is not consumed, and is forgotten on the next add.
		update(t, db, func(tx *store.Tx) error { return tx.AddCNonce(ctx, "old", time.Now().Add(-time.Second)) })
		update(t, db, func(tx *store.Tx) error {
			if ok, err := tx.ConsumeCNonce(ctx, "old"); ok || err != nil {
				t.Errorf("expired nonce consumed: %v %v", ok, err)
			}
			return nil
		})
	})
}

// Offers round-trip, and the token hash finds the redeemed offer.
func TestOfferRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := hkPerson(0)
		now := time.Unix(1_800_000_000, 0).UTC()
		o := &store.Offer{CodeHash: bytes.Repeat([]byte{1}, 32), DocType: permit.HKHomeReturnPermit, DocNumber: "H10000000",
			Kind: permit.LinkageProofKind, Reason: permit.ReasonLost, Channel: permit.ChannelCounter,
			TxCodeHash: bytes.Repeat([]byte{2}, 32), State: store.OfferOffered, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		update(t, db, func(tx *store.Tx) error {
			if err := saveRecord(tx, p, nil, hkPermit(10000000)); err != nil {
				return err
			}
			o.PersonID = p.ID
			return tx.AddOffer(ctx, o)
		})
		update(t, db, func(tx *store.Tx) error {
			got, err := tx.OfferByCode(ctx, o.CodeHash)
			if err != nil {
				return err
			}
			if got.PersonID != p.ID || got.Kind != o.Kind || got.Reason != o.Reason || got.Channel != o.Channel ||
				got.State != store.OfferOffered || !got.ExpiresAt.Equal(o.ExpiresAt) || !got.TokenExpiresAt.IsZero() {
				t.Errorf("read back %+v", got)
			}
			got.Tries, got.State, got.TokenHash, got.TokenExpiresAt = 1, store.OfferRedeemed, []byte("tok"), now
			return tx.UpdateOffer(ctx, got)
		})
		update(t, db, func(tx *store.Tx) error {
			got, err := tx.OfferByToken(ctx, []byte("tok"))
			if err != nil || got.Tries != 1 || got.State != store.OfferRedeemed || !got.TokenExpiresAt.Equal(now) {
				t.Errorf("by token: %+v %v", got, err)
			}
			if _, err := tx.OfferByToken(ctx, []byte("nope")); permit.ErrorCode(err) != permit.ECodeNotFound {
				t.Errorf("unknown token: %v", err)
			}
			return nil
		})
	})
}

// The purge removes expired offers (unless their access token still
// lives), expired c_nonces and expired presentation requests, and nothing
// else.
func TestDeleteExpiredOID4VC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := hkPerson(0)
		now := time.Unix(1_800_000_000, 0).UTC()
		fixedClock(db, now.Add(-time.Hour)) // when everything was made
		offer := func(b byte, exp, tokenExp time.Time) *store.Offer {
			return &store.Offer{CodeHash: bytes.Repeat([]byte{b}, 32), DocType: permit.HKHomeReturnPermit, DocNumber: "H10000000",
				Kind: permit.LinkageProofKind, Channel: permit.ChannelCounter, TxCodeHash: bytes.Repeat([]byte{2}, 32),
				State: store.OfferOffered, TokenExpiresAt: tokenExp, CreatedAt: exp.Add(-10 * time.Minute), ExpiresAt: exp}
		}
		offers := []struct {
			o    *store.Offer
			kept bool
		}{
			{offer(1, now.Add(-time.Minute), time.Time{}), false},            // expired
			{offer(2, now, time.Time{}), false},                              // expires now
			{offer(3, now.Add(time.Minute), time.Time{}), true},              // live
			{offer(4, now.Add(-time.Minute), now.Add(time.Minute)), true},    // redeemed, token live
			{offer(5, now.Add(-time.Hour), now.Add(-30*time.Minute)), false}, // redeemed, token expired
		}
		update(t, db, func(tx *store.Tx) error {
			if err := saveRecord(tx, p, nil, hkPermit(10000000)); err != nil {
				return err
			}
			for i, o := range offers {
				o.o.PersonID = p.ID
				if err := tx.AddOffer(ctx, o.o); err != nil {
					return err
				}
				if !o.o.TokenExpiresAt.IsZero() {
					o.o.State, o.o.TokenHash = store.OfferRedeemed, []byte{byte(i)}
					if err := tx.UpdateOffer(ctx, o.o); err != nil {
						return err
					}
				}
			}
			c := permit.Client{Role: permit.RoleInstitution, Name: "bank-1", Category: "bank", KeyHash: make([]byte, 32),
				KeyPrefix: "k", CreatedAt: now}
			if err := tx.AddClient(ctx, &c); err != nil {
				return err
			}
			for id, exp := range map[string]time.Time{"old": now.Add(-time.Second), "new": now.Add(time.Second)} {
				if err := tx.AddVPRequest(ctx, &store.VPRequest{ID: id, ClientID: c.ID, Purpose: "p", Query: "{}", Nonce: "n",
					State: store.VPPending, CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}); err != nil {
					return err
				}
			}
			for n, exp := range map[string]time.Time{"n-old": now.Add(-time.Second), "n-new": now.Add(time.Minute)} {
				if err := tx.AddCNonce(ctx, n, exp); err != nil {
					return err
				}
			}
			return nil
		})
		update(t, db, func(tx *store.Tx) error {
			if n, err := tx.DeleteOffersBefore(ctx, now); n != 3 || err != nil {
				t.Errorf("offers deleted: %d, %v; want 3", n, err)
			}
			if n, err := tx.DeleteVPRequestsBefore(ctx, now); n != 1 || err != nil {
				t.Errorf("presentation requests deleted: %d, %v; want 1", n, err)
			}
			if n, err := tx.DeleteCNoncesBefore(ctx, now); n != 1 || err != nil {
				t.Errorf("c_nonces deleted: %d, %v; want 1", n, err)
			}
			return nil
		})
		fixedClock(db, now)
		update(t, db, func(tx *store.Tx) error {
			for i, o := range offers {
				_, err := tx.OfferByCode(ctx, o.o.CodeHash)
				if kept := err == nil; kept != o.kept {
					t.Errorf("offer %d kept = %v (%v), want %v", i+1, kept, err, o.kept)
				}
			}
			if _, err := tx.VPRequest(ctx, "new"); err != nil {
				t.Errorf("live presentation request: %v", err)
			}
			if _, err := tx.VPRequest(ctx, "old"); permit.ErrorCode(err) != permit.ECodeNotFound {
				t.Errorf("expired presentation request: %v", err)
			}
			if ok, err := tx.ConsumeCNonce(ctx, "n-new"); !ok || err != nil {
				t.Errorf("live c_nonce: %v %v", ok, err)
			}
			return nil
		})
	})
}
