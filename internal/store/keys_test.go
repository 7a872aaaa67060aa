package store_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"reflect"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// spki returns the DER SubjectPublicKeyInfo of a fresh P-256 key.
func spki(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// addKey records an active issuer key created at t0.
func addKey(t testing.TB, db *store.DB, kid string) *permit.IssuerKey {
	t.Helper()
	k := &permit.IssuerKey{Kid: kid, Ref: "file:keys/" + kid + ".pem", PublicKey: spki(t), State: permit.KeyActive, CreatedAt: t0}
	update(t, db, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, k) })
	return k
}

func TestIssuerKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := fixedClock(db, t0.Add(time.Hour))
		active := func() (*permit.IssuerKey, error) {
			var k *permit.IssuerKey
			err := db.View(ctx, func(tx *store.Tx) (err error) {
				k, err = tx.ActiveIssuerKey(ctx)
				return err
			})
			return k, err
		}
		keys := func() []permit.IssuerKey {
			var ks []permit.IssuerKey
			view(t, db, func(tx *store.Tx) (err error) {
				ks, err = tx.IssuerKeys(ctx)
				return err
			})
			return ks
		}
		one := func(kid string) (*permit.IssuerKey, error) {
			var k *permit.IssuerKey
			err := db.View(ctx, func(tx *store.Tx) (err error) {
				k, err = tx.IssuerKey(ctx, kid)
				return err
			})
			return k, err
		}

		_, err := active()
		wantCode(t, "ActiveIssuerKey with no keys", err, permit.ECodeNotFound)
		if ks := keys(); len(ks) != 0 {
			t.Errorf("IssuerKeys with no keys = %v", ks)
		}

		k1 := &permit.IssuerKey{Kid: "kid-1", Ref: "pkcs11:token=epermit;object=kid-1", PublicKey: spki(t),
			State: permit.KeyActive, CreatedAt: t0.Add(-48 * time.Hour)}
		update(t, db, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, k1) })
		if k, err := active(); err != nil || !reflect.DeepEqual(k, k1) {
			t.Errorf("ActiveIssuerKey = %+v, %v; want %+v", k, err, k1)
		}

		// Only one active key: a second fails, in either order within one
		// transaction, and changes nothing.
		k2 := &permit.IssuerKey{Kid: "kid-2", Ref: "file:keys/kid-2.pem", PublicKey: spki(t), State: permit.KeyActive, CreatedAt: t0}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, k2) }); err == nil {
			t.Error("a second active key was added")
		}
		err = db.Update(ctx, func(tx *store.Tx) error {
			if err := tx.AddIssuerKey(ctx, k2); err != nil {
				return err
			}
			return tx.RetireIssuerKey(ctx, k1.Kid)
		})
		if err == nil {
			t.Error("adding the new active key before retiring the old one worked")
		}
		dup := *k1
		dup.State, dup.RetiredAt = permit.KeyRetired, t0
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, &dup) }); err == nil {
			t.Error("a key id was recorded twice")
		}
		if ks := keys(); !reflect.DeepEqual(ks, []permit.IssuerKey{*k1}) {
			t.Errorf("IssuerKeys after failed adds = %+v; want only %s", ks, k1.Kid)
		}

		// Rotation: retire, then add, in one Update.
		update(t, db, func(tx *store.Tx) error {
			if err := tx.RetireIssuerKey(ctx, k1.Kid); err != nil {
				return err
			}
			return tx.AddIssuerKey(ctx, k2)
		})
		k1.State, k1.RetiredAt = permit.KeyRetired, now
		if k, err := active(); err != nil || !reflect.DeepEqual(k, k2) {
			t.Errorf("ActiveIssuerKey after rotation = %+v, %v; want %+v", k, err, k2)
		}
		if k, err := one(k1.Kid); err != nil || !reflect.DeepEqual(k, k1) {
			t.Errorf("IssuerKey(%s) after rotation = %+v, %v; want %+v", k1.Kid, k, err, k1)
		}

		// A retired key may be recorded directly (an imported old key).
		k0 := &permit.IssuerKey{Kid: "kid-0", Ref: "file:keys/kid-0.pem", PublicKey: spki(t), State: permit.KeyRetired,
			CreatedAt: t0.Add(-96 * time.Hour), RetiredAt: t0.Add(-48 * time.Hour)}
		update(t, db, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, k0) })

		for _, kid := range []string{k1.Kid, k0.Kid, "kid-unknown"} {
			err := db.Update(ctx, func(tx *store.Tx) error { return tx.RetireIssuerKey(ctx, kid) })
			wantCode(t, "RetireIssuerKey("+kid+") of a key that is not active", err, permit.ECodeNotFound)
		}
		_, err = one("kid-unknown")
		wantCode(t, "permit.IssuerKey of an unknown kid", err, permit.ECodeNotFound)

		// LastExpiry: the latest expiry of the credentials each key signed.
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		update(t, db, func(tx *store.Tx) error {
			for _, c := range []struct {
				kid     string
				expires time.Duration
			}{{k1.Kid, time.Hour}, {k1.Kid, 7 * 24 * time.Hour}, {k1.Kid, 3 * 24 * time.Hour}, {k2.Kid, 48 * time.Hour}} {
				cred := newCredential(person, c.kid, t0)
				cred.ExpiresAt = t0.Add(c.expires)
				if err := issue(tx, cred); err != nil {
					return err
				}
			}
			return nil
		})
		k1.LastExpiry = t0.Add(7 * 24 * time.Hour)
		k2.LastExpiry = t0.Add(48 * time.Hour)
		if ks := keys(); !reflect.DeepEqual(ks, []permit.IssuerKey{*k2, *k1, *k0}) {
			t.Errorf("IssuerKeys (newest first) =\n%+v\nwant\n%+v", ks, []permit.IssuerKey{*k2, *k1, *k0})
		}
		if k, err := active(); err != nil || !reflect.DeepEqual(k, k2) {
			t.Errorf("ActiveIssuerKey = %+v, %v; want %+v", k, err, k2)
		}
		if k, err := one(k0.Kid); err != nil || !reflect.DeepEqual(k, k0) {
			t.Errorf("IssuerKey(%s) of a key that signed nothing = %+v, %v; want %+v", k0.Kid, k, err, k0)
		}
	})
}
