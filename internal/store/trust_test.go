package store_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// A key under a root: made pending, certified, activated (retiring the
// active one); the certificate and its times read back.
func TestPendingKeyCertifyActivate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := fixedClock(db, t0.Add(time.Hour))
		k1 := addKey(t, db, "kid-1")
		p := &permit.IssuerKey{Kid: "kid-2", Ref: "file:keys/kid-2.pem", PublicKey: spki(t), State: permit.KeyPending, CreatedAt: t0.Add(time.Minute)}
		update(t, db, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, p) })
		p3 := &permit.IssuerKey{Kid: "kid-3", Ref: "file:keys/kid-3.pem", PublicKey: spki(t), State: permit.KeyPending, CreatedAt: t0}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddIssuerKey(ctx, p3) }); err == nil {
			t.Error("a second pending key was recorded")
		}
		var got *permit.IssuerKey
		view(t, db, func(tx *store.Tx) (err error) { got, err = tx.PendingIssuerKey(ctx); return err })
		if !reflect.DeepEqual(got, p) {
			t.Errorf("PendingIssuerKey = %+v, want %+v", got, p)
		}
		err := db.Update(ctx, func(tx *store.Tx) error {
			return tx.CertifyIssuerKey(ctx, "kid-x", []byte{1}, t0, t0.Add(time.Hour), t0, t0)
		})
		wantCode(t, "CertifyIssuerKey of an unknown key", err, permit.ECodeNotFound)
		err = db.Update(ctx, func(tx *store.Tx) error { return tx.CertifyIssuerKey(ctx, p.Kid, nil, t0, time.Time{}, t0, t0) })
		wantCode(t, "CertifyIssuerKey without a certificate", err, permit.ECodeInvalid)

		cert := []byte{0x30, 0x03, 0x02, 0x01, 0x07}
		p.Certificate, p.CertNotBefore, p.CertNotAfter = cert, t0, t0.Add(120*24*time.Hour)
		p.UsageNotBefore, p.UsageNotAfter = t0, t0.Add(90*24*time.Hour)
		update(t, db, func(tx *store.Tx) error {
			return tx.CertifyIssuerKey(ctx, p.Kid, cert, p.CertNotBefore, p.CertNotAfter, p.UsageNotBefore, p.UsageNotAfter)
		})
		view(t, db, func(tx *store.Tx) (err error) { got, err = tx.IssuerKey(ctx, p.Kid); return err })
		if !reflect.DeepEqual(got, p) {
			t.Errorf("certified key = %+v, want %+v", got, p)
		}

		update(t, db, func(tx *store.Tx) error { return tx.ActivateIssuerKey(ctx, p.Kid) })
		p.State = permit.KeyActive
		k1.State, k1.RetiredAt = permit.KeyRetired, now
		var ks []permit.IssuerKey
		view(t, db, func(tx *store.Tx) (err error) { ks, err = tx.IssuerKeys(ctx); return err })
		if !reflect.DeepEqual(ks, []permit.IssuerKey{*p, *k1}) {
			t.Errorf("keys after activation =\n%+v\nwant\n%+v", ks, []permit.IssuerKey{*p, *k1})
		}
		err = db.Update(ctx, func(tx *store.Tx) error { return tx.ActivateIssuerKey(ctx, p.Kid) })
		wantCode(t, "activating the active key", err, permit.ECodeNotFound)
		view(t, db, func(tx *store.Tx) error {
			_, err := tx.PendingIssuerKey(ctx)
			wantCode(t, "PendingIssuerKey after activation", err, permit.ECodeNotFound)
			return nil
		})
		// A retired key is certified no more; a failed activation changed nothing.
		err = db.Update(ctx, func(tx *store.Tx) error { return tx.CertifyIssuerKey(ctx, k1.Kid, cert, t0, t0.Add(time.Hour), t0, t0) })
		wantCode(t, "CertifyIssuerKey of a retired key", err, permit.ECodeNotFound)
		view(t, db, func(tx *store.Tx) (err error) { got, err = tx.ActiveIssuerKey(ctx); return err })
		if got.Kid != p.Kid {
			t.Errorf("active key = %s, want %s", got.Kid, p.Kid)
		}
	})
}

func TestTrustRoots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fixedClock(db, t0)
		view(t, db, func(tx *store.Tx) error {
			_, err := tx.CurrentTrustRoot(ctx)
			wantCode(t, "CurrentTrustRoot of a new store", err, permit.ECodeNotFound)
			return nil
		})
		update(t, db, func(tx *store.Tx) error { return tx.SetTrustRoot(ctx, "root-1", []byte{1}) })
		update(t, db, func(tx *store.Tx) error { return tx.SetTrustRoot(ctx, "root-1", []byte{1}) }) // again: nothing changes
		fixedClock(db, t0.Add(time.Hour))
		update(t, db, func(tx *store.Tx) error { return tx.SetTrustRoot(ctx, "root-2", []byte{2}) })
		err := db.Update(ctx, func(tx *store.Tx) error { return tx.SetTrustRoot(ctx, "root-1", []byte{1}) })
		wantCode(t, "taking a superseded root back", err, permit.ECodeConflict)
		var cur *store.TrustRoot
		var all []store.TrustRoot
		view(t, db, func(tx *store.Tx) (err error) {
			if cur, err = tx.CurrentTrustRoot(ctx); err != nil {
				return err
			}
			all, err = tx.TrustRoots(ctx)
			return err
		})
		want := []store.TrustRoot{{Kid: "root-2", Certificate: []byte{2}, AddedAt: t0.Add(time.Hour)},
			{Kid: "root-1", Certificate: []byte{1}, AddedAt: t0, SupersededAt: t0.Add(time.Hour)}}
		if !reflect.DeepEqual(*cur, want[0]) || !reflect.DeepEqual(all, want) {
			t.Errorf("roots: current %+v, all %+v; want %+v", cur, all, want)
		}
	})
}

func TestTrustLists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fixedClock(db, t0)
		view(t, db, func(tx *store.Tx) error {
			_, err := tx.LatestTrustList(ctx)
			wantCode(t, "LatestTrustList of a new store", err, permit.ECodeNotFound)
			return nil
		})
		l := func(seq int64) *store.TrustListRecord {
			return &store.TrustListRecord{Seq: seq, Document: fmt.Sprintf("list-%d", seq), IssuedAt: t0.Add(-time.Minute),
				ExpiresAt: t0.Add(30 * 24 * time.Hour)}
		}
		update(t, db, func(tx *store.Tx) error { return tx.AddTrustList(ctx, l(3)) })
		for _, seq := range []int64{3, 2} {
			err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddTrustList(ctx, l(seq)) })
			wantCode(t, fmt.Sprintf("AddTrustList(%d) after 3", seq), err, permit.ECodeConflict)
		}
		update(t, db, func(tx *store.Tx) error { return tx.AddTrustList(ctx, l(7)) })
		var got *store.TrustListRecord
		view(t, db, func(tx *store.Tx) (err error) { got, err = tx.LatestTrustList(ctx); return err })
		want := l(7)
		want.ImportedAt = t0
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LatestTrustList = %+v, want %+v", got, want)
		}
	})
}

// Read-decide-write under LockTrust holds with many writers at once: each
// reads the newest list and adds the next number, so none may read the
// same newest list as another (which would make its add a conflict); and
// of parallel activations of one pending key exactly one succeeds.
func TestTrustDecisionsConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const writers = 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Go(func() {
				errs <- db.Update(ctx, func(tx *store.Tx) error {
					if err := tx.LockTrust(ctx); err != nil {
						return err
					}
					seq := int64(1)
					if l, err := tx.LatestTrustList(ctx); err == nil {
						seq = l.Seq + 1
					} else if permit.ErrorCode(err) != permit.ECodeNotFound {
						return err
					}
					time.Sleep(5 * time.Millisecond) // widen the window between read and write
					return tx.AddTrustList(ctx, &store.TrustListRecord{Seq: seq, Document: "d", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)})
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("parallel import: %v", err)
			}
		}
		var got *store.TrustListRecord
		view(t, db, func(tx *store.Tx) (err error) { got, err = tx.LatestTrustList(ctx); return err })
		if got.Seq != writers {
			t.Errorf("newest list after %d imports = %d", writers, got.Seq)
		}

		addKey(t, db, "kid-1")
		update(t, db, func(tx *store.Tx) error {
			return tx.AddIssuerKey(ctx, &permit.IssuerKey{Kid: "kid-2", Ref: "file:x", PublicKey: spki(t), State: permit.KeyPending, CreatedAt: t0})
		})
		var ok, notFound int
		var mu sync.Mutex
		for range writers {
			wg.Go(func() {
				err := db.Update(ctx, func(tx *store.Tx) error {
					if err := tx.LockTrust(ctx); err != nil {
						return err
					}
					if _, err := tx.PendingIssuerKey(ctx); err != nil {
						return err
					}
					time.Sleep(5 * time.Millisecond)
					return tx.ActivateIssuerKey(ctx, "kid-2")
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case permit.ErrorCode(err) == permit.ECodeNotFound:
					notFound++
				default:
					t.Errorf("parallel activation: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || notFound != writers-1 {
			t.Errorf("parallel activations: %d succeeded, %d found no pending key; want 1 and %d", ok, notFound, writers-1)
		}
		var ks []permit.IssuerKey
		view(t, db, func(tx *store.Tx) (err error) { ks, err = tx.IssuerKeys(ctx); return err })
		states := map[string]string{}
		for _, k := range ks {
			states[k.Kid] = k.State
		}
		if !reflect.DeepEqual(states, map[string]string{"kid-1": permit.KeyRetired, "kid-2": permit.KeyActive}) {
			t.Errorf("key states after parallel activations = %v", states)
		}
	})
}
