package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// A presentation request is answered once, however many responses arrive
// together, and never after it expired.
func TestAnswerVPRequestOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var c permit.Client
		update(t, db, func(tx *store.Tx) error {
			c = permit.Client{Role: permit.RoleInstitution, Name: "bank-1", Category: "bank", KeyHash: make([]byte, 32),
				KeyPrefix: "k", CreatedAt: time.Now()}
			if err := tx.AddClient(ctx, &c); err != nil {
				return err
			}
			now := time.Now()
			for _, id := range []string{"t1", "t2"} {
				exp := now.Add(time.Hour)
				if id == "t2" {
					exp = now.Add(-time.Second)
				}
				if err := tx.AddVPRequest(ctx, &store.VPRequest{ID: id, ClientID: c.ID, Purpose: "p", Query: "{}", Nonce: "n",
					State: store.VPPending, CreatedAt: now, ExpiresAt: exp}); err != nil {
					return err
				}
			}
			return nil
		})
		var answered atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if err := db.Update(ctx, func(tx *store.Tx) error {
					ok, err := tx.AnswerVPRequest(ctx, "t1", store.VPAnswered, `{"x":1}`)
					if ok {
						answered.Add(1)
					}
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := answered.Load(); n != 1 {
			t.Errorf("answered by %d of 10 parallel responses, want 1", n)
		}
		update(t, db, func(tx *store.Tx) error {
			r, err := tx.VPRequest(ctx, "t1")
			if err != nil || r.State != store.VPAnswered || r.Result != `{"x":1}` || r.AnsweredAt.IsZero() || r.ClientID != c.ID {
				t.Errorf("t1 = %+v %v", r, err)
			}
			if ok, err := tx.AnswerVPRequest(ctx, "t2", store.VPAnswered, "{}"); ok || err != nil {
				t.Errorf("expired request answered: %v %v", ok, err)
			}
			if _, err := tx.VPRequest(ctx, "nope"); permit.ErrorCode(err) != permit.ECodeNotFound {
				t.Errorf("unknown: %v", err)
			}
			return nil
		})
	})
}
