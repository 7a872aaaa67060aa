package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// The e-permits that stand in for a travel permit: issued on an application
// for it, neither revoked nor expired.
func TestCurrentCredentialsForPermit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.SetClock(func() time.Time { return t0.Add(time.Hour) })
		kid := addKey(t, db, "kid-1").Kid
		a := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		b := addRecord(t, db, hkPerson(2), nil, hkPermit(2)).Person.ID
		mk := func(person int64, number string, issued time.Time, state permit.CredentialState) *permit.Credential {
			c := newCredential(person, kid, issued)
			update(t, db, func(tx *store.Tx) error {
				app := newApplication(person, permit.TemporaryEPermit, "2026-11", "")
				app.DocumentNumber = number
				if err := tx.AddApplication(ctx, app); err != nil {
					return err
				}
				c.ApplicationID = app.ID
				if err := issue(tx, c); err != nil {
					return err
				}
				if state != permit.CredentialActive {
					return tx.SetCredentialState(ctx, c.ID, state, "test")
				}
				return nil
			})
			return c
		}
		active := mk(a, "H00000001", t0, permit.CredentialActive)
		suspended := mk(a, "H00000001", t0.Add(-time.Hour), permit.CredentialSuspended)
		mk(a, "H00000001", t0, permit.CredentialRevoked)
		mk(a, "H00000001", t0.Add(-8*24*time.Hour), permit.CredentialActive) // expired
		mk(b, "H00000002", t0, permit.CredentialActive)                      // another permit
		var got []permit.Credential
		view(t, db, func(tx *store.Tx) (err error) {
			got, err = tx.CurrentCredentialsForPermit(ctx, permit.HKHomeReturnPermit, "H00000001")
			return err
		})
		if len(got) != 2 || !bytes.Equal(got[0].ID, active.ID) || !bytes.Equal(got[1].ID, suspended.ID) ||
			got[1].State != permit.CredentialSuspended {
			t.Fatalf("current credentials = %+v; want the active then the suspended one", got)
		}
		view(t, db, func(tx *store.Tx) (err error) {
			got, err = tx.CurrentCredentialsForPermit(ctx, permit.TWTravelPermit, "H00000001")
			return err
		})
		if len(got) != 0 {
			t.Fatalf("another document type = %+v", got)
		}
	})
}
