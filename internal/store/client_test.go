package store_test

import (
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// TestClientRate: a client's own rate limit is stored with it, read back
// with it by name and by key, and cleared by 0.
func TestClientRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := &permit.Client{Role: permit.RoleVerifier, Name: "Gate hall", Category: "railway",
			KeyHash: []byte("0123456789abcdef0123456789abcdef"), KeyPrefix: "epv_abc", CreatedAt: time.Unix(1, 0)}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddClient(ctx, c) }); err != nil {
			t.Fatal(err)
		}
		for _, rate := range []float64{250.5, 0} {
			if err := db.Update(ctx, func(tx *store.Tx) error { return tx.SetClientRate(ctx, c.ID, rate) }); err != nil {
				t.Fatal(err)
			}
			err := db.View(ctx, func(tx *store.Tx) error {
				byName, err := tx.ClientByName(ctx, c.Role, c.Name)
				if err != nil {
					return err
				}
				byKey, err := tx.ClientByKeyHash(ctx, c.KeyHash)
				if err != nil {
					return err
				}
				if byName.RateLimit != rate || byKey.RateLimit != rate {
					t.Errorf("rate %v read back as %v by name, %v by key", rate, byName.RateLimit, byKey.RateLimit)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
