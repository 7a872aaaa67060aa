package store_test

// Reads that run while other transactions write: on PostgreSQL a View is
// one snapshot, so what it reads together fits together.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// VerifyAudit on an untampered log, while other transactions append.
func TestVerifyAuditWhileAppending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for range 2000 { // a log long enough that reading it takes a while
			appendEvent(t, db, audit.Event{Actor: "cli", Action: "seed", Subject: "s"})
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					db.Update(ctx, func(tx *store.Tx) error {
						return tx.Audit(ctx, audit.Event{Actor: "w", Action: "append", Subject: "x"})
					})
				}
			})
		}
		var failures int
		for range 20 {
			if _, err := db.VerifyAudit(ctx, nil); err != nil {
				failures++
				if failures == 1 {
					t.Errorf("VerifyAudit on an untampered log: %v", err)
				}
			}
		}
		stop.Store(true)
		wg.Wait()
		t.Logf("%d of 20 verifications reported tampering", failures)
	})
}

// EachRecord ("each page is one consistent read") while two
// transactions create people, the later-numbered one committing first.
func TestEachRecordWhileCreating(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() == store.SQLite {
			t.Skip("one writer: ids commit in order")
		}
		raw := storetest.SQL(t, db)
		update(t, db, func(tx *store.Tx) error { // someone on file already: id N-1
			return saveRecord(tx, hkPerson(0), nil, hkPermit(10000000))
		})
		txA, err := raw.Begin() // an import in flight: its person got id N
		if err != nil {
			t.Fatal(err)
		}
		defer txA.Rollback()
		var n int64
		if err := txA.QueryRow(`INSERT INTO persons (name, latin_name, sex, birth_date, region, phone, portrait)
			VALUES ('A', 'A', 1, '1990-01-01', 'HK', '+85200000000', '\x00') RETURNING id`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		update(t, db, func(tx *store.Tx) error { // another import: id N+1, committed first
			return saveRecord(tx, hkPerson(1), nil, hkPermit(10000001))
		})
		if _, err := txA.Exec(`INSERT INTO travel_permits (doc_type, number, person_id, renewal, issued_on, expires_on, status)
			VALUES (1, 'H90000000', $1, 0, '2020-01-01', '2030-01-01', 'valid')`, n); err != nil {
			t.Fatal(err)
		}
		// Hold the import's last write a moment (here: with a table lock) so that it commits
		// between EachRecord's person read and its permit read.
		if _, err := txA.Exec(`LOCK TABLE travel_permits IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		done := make(chan any)
		go func() {
			defer func() { done <- recover() }()
			err := db.EachRecord(ctx, func(*permit.Record) error { return nil })
			if err != nil {
				done <- err
			}
		}()
		time.Sleep(300 * time.Millisecond)
		if err := txA.Commit(); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r != nil {
			t.Errorf("EachRecord: %v", fmt.Sprint(r))
		}
	})
}

// The order every rule takes locks in on PostgreSQL: the person, then the
// credential. A state change finds the person without locking the
// credential (CredentialPerson), locks the person, then reads the
// credential; an issuance that supersedes the same credential meanwhile
// makes it wait, not deadlock. (Reading the credential with its lock first
// deadlocked: found in review.)
func TestPersonBeforeCredential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() == store.SQLite {
			t.Skip("SQLite has one writer: no lock order to get wrong")
		}
		rec := addRecord(t, db, hkPerson(0), nil, hkPermit(10000000))
		k := addKey(t, db, "kid-1")
		c := newCredential(rec.Person.ID, k.Kid, t0)
		update(t, db, func(tx *store.Tx) error { return issue(tx, c) })

		credLocked, personLocked := make(chan struct{}), make(chan struct{})
		var runs1, runs2 atomic.Int32
		var wg sync.WaitGroup
		var err1, err2 error
		wg.Go(func() { // a state change (authority's changeState)
			err1 = db.Update(ctx, func(tx *store.Tx) error {
				first := runs1.Add(1) == 1
				person, err := tx.CredentialPerson(ctx, c.ID)
				if err != nil {
					return err
				}
				if first {
					close(credLocked)
					<-personLocked
				}
				if err := tx.LockPerson(ctx, person); err != nil {
					return err
				}
				_, err = tx.Credential(ctx, c.ID)
				return err
			})
		})
		wg.Go(func() { // issue: person lock, then supersede
			err2 = db.Update(ctx, func(tx *store.Tx) error {
				first := runs2.Add(1) == 1
				if err := tx.LockPerson(ctx, rec.Person.ID); err != nil {
					return err
				}
				if first {
					close(personLocked)
					<-credLocked
				}
				return tx.SetCredentialState(ctx, c.ID, permit.CredentialRevoked, "superseded")
			})
		})
		wg.Wait()
		if err1 != nil || err2 != nil {
			t.Errorf("errors: %v / %v", err1, err2)
		}
		if runs1.Load() != 1 || runs2.Load() != 1 {
			t.Errorf("deadlock: the state change ran %d times, the issuance %d times", runs1.Load(), runs2.Load())
		}
	})
}

// The audit head is the last lock a transaction takes (at commit): a key
// revocation that revokes c1, audits and goes on to c2 does not deadlock
// with a portrait lookup that locked c2 and audits. (Locking the head at
// the first Audit deadlocked: found in review.)
func TestAuditHeadLockedLast(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() == store.SQLite {
			t.Skip("SQLite has one writer: no lock order to get wrong")
		}
		rec := addRecord(t, db, hkPerson(0), nil, hkPermit(10000000))
		k := addKey(t, db, "kid-1")
		c1, c2 := newCredential(rec.Person.ID, k.Kid, t0), newCredential(rec.Person.ID, k.Kid, t0)
		update(t, db, func(tx *store.Tx) error {
			if err := issue(tx, c1); err != nil {
				return err
			}
			return issue(tx, c2)
		})
		headLocked, c2Locked := make(chan struct{}), make(chan struct{})
		var runs1, runs2 atomic.Int32
		var wg sync.WaitGroup
		wg.Go(func() { // RevokeKey
			db.Update(ctx, func(tx *store.Tx) error {
				first := runs1.Add(1) == 1
				if err := tx.SetCredentialState(ctx, c1.ID, permit.CredentialRevoked, "key"); err != nil {
					return err
				}
				if err := tx.Audit(ctx, audit.Event{Actor: "cli", Action: "credential.revoke", Subject: "c1"}); err != nil {
					return err
				}
				if first {
					close(headLocked)
					<-c2Locked
				}
				return tx.SetCredentialState(ctx, c2.ID, permit.CredentialRevoked, "key")
			})
		})
		wg.Go(func() { // Portrait
			db.Update(ctx, func(tx *store.Tx) error {
				first := runs2.Add(1) == 1
				if _, err := tx.Credential(ctx, c2.ID); err != nil {
					return err
				}
				if first {
					close(c2Locked)
					<-headLocked
				}
				return tx.Audit(ctx, audit.Event{Actor: "v", Action: "portrait.lookup", Subject: "c2"})
			})
		})
		wg.Wait()
		if runs1.Load() != 1 || runs2.Load() != 1 {
			t.Errorf("deadlock: the revocation ran %d times, the lookup %d times", runs1.Load(), runs2.Load())
		}
	})
}

// A nonce presented by many transactions at once is consumed by one.
func TestConsumeNonceOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := hkPerson(0)
		token := []byte("token-hash-0123456789abcdef01234")
		update(t, db, func(tx *store.Tx) error {
			if err := saveRecord(tx, p, nil, hkPermit(10000000)); err != nil {
				return err
			}
			now := tx.Now()
			if err := tx.AddApplicantSession(ctx, &permit.ApplicantSession{TokenHash: token, PersonID: p.ID,
				DocType: permit.HKHomeReturnPermit, DocNumber: "H10000000", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			return tx.SetNonce(ctx, token, "n1", now.Add(time.Minute))
		})
		var consumed atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				err := db.Update(ctx, func(tx *store.Tx) error {
					ok, err := tx.ConsumeNonce(ctx, token, "n1")
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
			t.Errorf("nonce consumed by %d of 10 parallel transactions, want 1", n)
		}
		update(t, db, func(tx *store.Tx) error {
			if ok, err := tx.ConsumeNonce(ctx, token, "n1"); ok || err != nil {
				t.Errorf("consumed again: %v %v", ok, err)
			}
			return nil
		})
	})
}
