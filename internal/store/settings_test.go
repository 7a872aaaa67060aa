package store_test

import (
	"reflect"
	"sync"
	"testing"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		get := func() map[string]string {
			var m map[string]string
			view(t, db, func(tx *store.Tx) (err error) { m, err = tx.Settings(ctx); return err })
			return m
		}
		if m := get(); len(m) != 0 {
			t.Fatalf("fresh store has settings %v", m)
		}
		update(t, db, func(tx *store.Tx) error { return tx.AddSetting(ctx, store.SettingPublicURL, "https://a.example") })
		err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddSetting(ctx, store.SettingPublicURL, "https://b.example") })
		if permit.ErrorCode(err) != permit.ECodeConflict {
			t.Fatalf("second AddSetting = %v, want conflict", err)
		}
		update(t, db, func(tx *store.Tx) error { return tx.SetSetting(ctx, store.SettingPublicURL, "https://c.example") })
		update(t, db, func(tx *store.Tx) error { return tx.SetSetting(ctx, store.SettingKMS, "file:") })
		if m, want := get(), map[string]string{store.SettingPublicURL: "https://c.example", store.SettingKMS: "file:"}; !reflect.DeepEqual(m, want) {
			t.Fatalf("settings = %v, want %v", m, want)
		}
	})
}

// A database not yet migrated to hold settings (a read-only command with
// --no-migrate on an older schema) has none, rather than an error.
func TestSettingsBeforeTheirMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := storetest.SQL(t, db).Exec(`DROP TABLE settings`); err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		view(t, db, func(tx *store.Tx) (err error) { m, err = tx.Settings(ctx); return err })
		if len(m) != 0 {
			t.Fatalf("settings = %v, want none", m)
		}
	})
}

// Parallel first recordings of one setting: exactly one wins, the others
// are conflicts.
func TestAddSettingUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Update(ctx, func(tx *store.Tx) error { return tx.AddSetting(ctx, store.SettingIssuerID, "CN-NIA") })
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case permit.ErrorCode(err) != permit.ECodeConflict:
				t.Errorf("AddSetting: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d parallel AddSetting succeeded, want 1", ok, n)
		}
	})
}
