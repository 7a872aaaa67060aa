package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// appendEvent appends one audit event in its own Update.
func appendEvent(t testing.TB, db *store.DB, e audit.Event) {
	t.Helper()
	update(t, db, func(tx *store.Tx) error { return tx.Audit(ctx, e) })
}

// events returns the whole log indexed by sequence number (index 0 unused).
func events(t testing.TB, db *store.DB) []audit.Event {
	t.Helper()
	es, err := db.AuditEvents(ctx, "", 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Event, len(es)+1)
	for _, e := range es {
		if e.Seq < 1 || e.Seq > int64(len(es)) {
			t.Fatalf("audit event with seq %d in a log of %d", e.Seq, len(es))
		}
		out[e.Seq] = e
	}
	return out
}

// wantProblem checks that err is an *audit.Problem at seq.
func wantProblem(t testing.TB, what string, err error, seq int64) {
	t.Helper()
	var p *audit.Problem
	switch {
	case err == nil:
		t.Errorf("%s: VerifyAudit found nothing; want a problem at event %d", what, seq)
	case !errors.As(err, &p):
		t.Errorf("%s: VerifyAudit = %v (%T); want an *audit.Problem", what, err, err)
	case p.Seq != seq:
		t.Errorf("%s: VerifyAudit = %v; want a problem at event %d", what, err, seq)
	}
}

func TestAuditChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if head, err := db.VerifyAudit(ctx, nil); err != nil || head.Seq != 0 {
			t.Errorf("VerifyAudit of an empty log = %v, %v; want 0 events", head, err)
		}
		// The clock has nanoseconds: events keep microseconds.
		clock := t0.Add(123456789 * time.Nanosecond).In(permit.ChinaTime)
		fixedClock(db, clock)

		var want []audit.Event
		for i := range 3 {
			e := audit.Event{Actor: "officer:wong", Action: "registry.update", Subject: fmt.Sprintf("hk:H%08d", i),
				Details: json.RawMessage(fmt.Sprintf(`{"field":"phone","n":%d}`, i))}
			appendEvent(t, db, e)
			want = append(want, e)
		}
		// Several events in one transaction chain too.
		batch := []audit.Event{
			{Actor: "cli", Action: "key.rotate", Subject: "kid:k2", Details: json.RawMessage(`{"retired":"k1"}`)},
			{Actor: "system", Action: "status.publish", Subject: "list:1"}, // no details
			{Actor: "holder:hk:H00000001", Action: "credential.issue", Subject: "cti:00ff", Details: json.RawMessage(`{}`)},
		}
		update(t, db, func(tx *store.Tx) error {
			for _, e := range batch {
				if err := tx.Audit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		want = append(want, batch...)

		got := events(t, db)
		if len(got)-1 != len(want) {
			t.Fatalf("%d events, want %d", len(got)-1, len(want))
		}
		prev := audit.GenesisHash
		for i, w := range want {
			e := got[i+1]
			if e.Seq != int64(i+1) || e.Actor != w.Actor || e.Action != w.Action || e.Subject != w.Subject ||
				!bytes.Equal(e.Details, w.Details) || (w.Details == nil) != (e.Details == nil) {
				t.Errorf("event %d = %+v; want %+v", i+1, e, w)
			}
			if wantAt := clock.Truncate(time.Microsecond); !e.At.Equal(wantAt) || e.At.Location() != time.UTC {
				t.Errorf("event %d: At = %v; want %v in UTC", i+1, e.At, wantAt)
			}
			if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, e.ComputeHash()) {
				t.Errorf("event %d: not chained: prev %x (want %x), hash %x (want %x)", i+1, e.PrevHash, prev, e.Hash, e.ComputeHash())
			}
			prev = e.Hash
		}

		head, err := db.VerifyAudit(ctx, nil)
		if err != nil || head.Seq != int64(len(want)) || !bytes.Equal(head.Hash, prev) {
			t.Fatalf("VerifyAudit = %v, %v; want %d:%x", head, err, len(want), prev)
		}
		if again, err := db.VerifyAudit(ctx, &head); err != nil || again.String() != head.String() {
			t.Errorf("VerifyAudit with its own anchor = %v, %v; want %v", again, err, head)
		}

		// An anchor from an earlier run still holds as the log grows.
		appendEvent(t, db, audit.Event{Actor: "cli", Action: "audit.verify", Subject: "log"})
		if later, err := db.VerifyAudit(ctx, &head); err != nil || later.Seq != head.Seq+1 {
			t.Errorf("VerifyAudit with an older anchor = %v, %v; want %d events", later, err, head.Seq+1)
		}
		// A wrong anchor, or one beyond the log, is a problem.
		_, err = db.VerifyAudit(ctx, &audit.Anchor{Seq: 2, Hash: got[3].Hash})
		wantProblem(t, "anchor with another event's hash", err, 2)
		_, err = db.VerifyAudit(ctx, &audit.Anchor{Seq: head.Seq + 5, Hash: head.Hash})
		wantProblem(t, "anchor beyond the end", err, head.Seq+2)
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	const workers, each = 10, 10
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					err := db.Update(ctx, func(tx *store.Tx) error {
						return tx.Audit(ctx, audit.Event{Actor: fmt.Sprintf("worker:%d", w), Action: "test.append", Subject: fmt.Sprintf("n:%d", i)})
					})
					if err != nil {
						t.Errorf("worker %d, append %d: %v", w, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		head, err := db.VerifyAudit(ctx, nil)
		if err != nil || head.Seq != workers*each {
			t.Fatalf("VerifyAudit after concurrent appends = %v, %v; want %d events", head, err, workers*each)
		}
		seen := map[string]bool{}
		for _, e := range events(t, db)[1:] {
			k := e.Actor + " " + e.Subject
			if seen[k] {
				t.Errorf("event %q recorded twice", k)
			}
			seen[k] = true
		}
		if len(seen) != workers*each {
			t.Errorf("%d distinct events, want %d", len(seen), workers*each)
		}
	})
}

func TestAuditEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, s := range []string{"hk:A", "hk:B", "hk:A", "kid:C", "hk:A", "hk:B"} {
			appendEvent(t, db, audit.Event{Actor: "cli", Action: "test", Subject: s})
		}
		for _, tc := range []struct {
			subject string
			before  int64
			limit   int
			want    []int64
		}{
			{"", 0, 10, []int64{6, 5, 4, 3, 2, 1}},
			{"", 0, 3, []int64{6, 5, 4}},
			{"", 4, 3, []int64{3, 2, 1}}, // the page after the one above
			{"", 1, 3, nil},
			{"", 3_000_000_000, 10, []int64{6, 5, 4, 3, 2, 1}}, // past int32: the engines agree
			{"", 0, 0, nil},
			{"hk:A", 0, 10, []int64{5, 3, 1}},
			{"hk:A", 0, 2, []int64{5, 3}},
			{"hk:A", 3, 2, []int64{1}},
			{"hk:B", 0, 10, []int64{6, 2}},
			{"kid:C", 0, 1, []int64{4}},
			{"kid:C", 4, 1, nil},
			{"hk:none", 0, 10, nil},
			{"hk:", 0, 10, nil}, // exact match, not a prefix
		} {
			es, err := db.AuditEvents(ctx, tc.subject, tc.before, tc.limit)
			var seqs []int64
			for _, e := range es {
				seqs = append(seqs, e.Seq)
				if tc.subject != "" && e.Subject != tc.subject {
					t.Errorf("AuditEvents(%q): event %d has subject %q", tc.subject, e.Seq, e.Subject)
				}
			}
			if err != nil || !reflect.DeepEqual(seqs, tc.want) {
				t.Errorf("AuditEvents(%q, %d, %d) = %v, %v; want %v", tc.subject, tc.before, tc.limit, seqs, err, tc.want)
			}
		}
	})
}

func TestSearchAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, e := range []audit.Event{
			{Actor: "cli:wong", Action: "credential.issue", Subject: "hk:A"},
			{Actor: "cli:wong", Action: "credential.revoke", Subject: "hk:A"},
			{Actor: "system", Action: "key.rotate", Subject: "kid:K"},
			{Actor: "cli:li", Action: "credential.issued_x", Subject: "hk:B"},
		} {
			appendEvent(t, db, e)
		}
		all, err := db.SearchAudit(ctx, store.AuditFilter{Limit: 10})
		if err != nil || len(all) != 4 {
			t.Fatalf("SearchAudit(all) = %d events, %v", len(all), err)
		}
		mid := all[1].At // the third event's commit time
		for _, tc := range []struct {
			f    store.AuditFilter
			want []int64
		}{
			{store.AuditFilter{Action: "credential.issue", Limit: 10}, []int64{1}},
			{store.AuditFilter{Action: "credential.", Limit: 10}, []int64{4, 2, 1}},
			{store.AuditFilter{Action: "credential", Limit: 10}, nil}, // not a prefix without the dot
			{store.AuditFilter{Action: "key.", Subject: "kid:K", Limit: 10}, []int64{3}},
			{store.AuditFilter{Action: "credential.", Subject: "hk:A", Limit: 1}, []int64{2}},
			{store.AuditFilter{Since: mid, Limit: 10}, []int64{4, 3}},
			{store.AuditFilter{Since: mid.Add(time.Hour), Limit: 10}, nil},
			{store.AuditFilter{Action: "credential.", Before: 4, Limit: 10}, []int64{2, 1}},
		} {
			es, err := db.SearchAudit(ctx, tc.f)
			var seqs []int64
			for _, e := range es {
				seqs = append(seqs, e.Seq)
			}
			if err != nil || !reflect.DeepEqual(seqs, tc.want) {
				t.Errorf("SearchAudit(%+v) = %v, %v; want %v", tc.f, seqs, err, tc.want)
			}
		}
	})
}

// The database itself refuses to change or delete audit events.
func TestAuditAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		raw := storetest.SQL(t, db)
		for i := range 3 {
			appendEvent(t, db, audit.Event{Actor: "cli", Action: "test", Subject: fmt.Sprint(i)})
		}
		head, err := db.VerifyAudit(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		qs := []string{
			`UPDATE audit_events SET actor = 'attacker' WHERE seq = 2`,
			`UPDATE audit_events SET details = NULL`,
			`UPDATE audit_events SET seq = seq + 10 WHERE seq = 3`,
			`DELETE FROM audit_events WHERE seq = 3`,
			`DELETE FROM audit_events`,
		}
		if db.Engine() == store.Postgres { // row triggers do not fire on TRUNCATE
			qs = append(qs, `TRUNCATE audit_events`, `TRUNCATE audit_events CASCADE`)
		}
		for _, q := range qs {
			if _, err := raw.ExecContext(ctx, q); err == nil {
				t.Errorf("%s: the database allowed it", q)
			}
		}
		if after, err := db.VerifyAudit(ctx, &head); err != nil || after.String() != head.String() {
			t.Errorf("VerifyAudit after refused changes = %v, %v; want %v", after, err, head)
		}
	})
}

// dropAppendOnly removes the append-only triggers, as an attacker with full
// write access to the database could.
func dropAppendOnly(t testing.TB, e store.Engine, raw *sql.DB) {
	t.Helper()
	qs := []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`}
	if e == store.Postgres {
		qs = []string{`DROP TRIGGER audit_events_append_only ON audit_events`, `DROP TRIGGER audit_events_no_truncate ON audit_events`}
	}
	for _, q := range qs {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func exec(t testing.TB, raw *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := raw.ExecContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s: changed nothing", q)
	}
}

// insertEvent writes e into the log directly, bypassing the store.
func insertEvent(t testing.TB, raw *sql.DB, e audit.Event) {
	t.Helper()
	exec(t, raw, `INSERT INTO audit_events (seq, at, actor, action, subject, details, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Subject, []byte(e.Details), e.PrevHash, e.Hash)
}

// forge returns an event that follows prev, hashed correctly: the attacker
// knows the (public) chaining rule.
func forge(prev audit.Event, subject string) audit.Event {
	e := audit.Event{At: prev.At.Add(time.Second), Actor: "officer:wong", Action: "credential.revoke", Subject: subject}
	e.Seal(prev.Seq, prev.Hash)
	return e
}

// An attacker with write access to the database changes the log under the
// store; VerifyAudit names the first event that is not what was written.
func TestAuditTamperDetection(t *testing.T) {
	const n = 5 // events in the log before tampering
	cases := []struct {
		name   string
		tamper func(t *testing.T, raw *sql.DB, ev []audit.Event)
		seq    int64 // where VerifyAudit must report the problem
		// hidden: the chain and head alone cannot tell (the attacker rewrote
		// them consistently); only an anchor recorded earlier catches it.
		hidden bool
	}{
		{"details of a middle event changed", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `UPDATE audit_events SET details = $1 WHERE seq = 3`, []byte(`{"reason":"nothing to see"}`))
		}, 3, false},
		{"actor of the last event changed", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `UPDATE audit_events SET actor = 'system' WHERE seq = $1`, n)
		}, n, false},
		{"time of the first event changed", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `UPDATE audit_events SET at = at - 3600000000 WHERE seq = 1`)
		}, 1, false},
		{"middle event rewritten with a matching hash", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			e := ev[3]
			e.Subject = "hk:H99999999"
			e.Hash = e.ComputeHash()
			exec(t, raw, `UPDATE audit_events SET subject = $1, hash = $2 WHERE seq = 3`, e.Subject, e.Hash)
		}, 4, false},
		{"middle event deleted", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq = 3`)
		}, 3, false},
		{"first event deleted", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq = 1`)
		}, 1, false},
		{"middle event replaced by a forged one", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq = 3`)
			insertEvent(t, raw, forge(ev[2], "hk:H99999999"))
		}, 4, false},
		{"last event deleted", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq = $1`, n)
		}, n, false},
		{"last event deleted and head rewound", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq = $1`, n)
			exec(t, raw, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, n-1, ev[n-1].Hash)
		}, n, true},
		{"last two events rewritten consistently and head moved", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `DELETE FROM audit_events WHERE seq >= $1`, n-1)
			e4 := forge(ev[n-2], "hk:H99999999")
			e5 := forge(e4, "hk:H88888888")
			insertEvent(t, raw, e4)
			insertEvent(t, raw, e5)
			exec(t, raw, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e5.Hash)
		}, n, true},
		{"forged event appended", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			insertEvent(t, raw, forge(ev[n], "hk:H99999999"))
		}, n + 1, false},
		{"forged event appended after a gap", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			e := forge(ev[n], "hk:H99999999")
			e.Seq = n + 2
			e.Hash = e.ComputeHash()
			insertEvent(t, raw, e)
		}, n + 1, false},
		{"forged event with a bad hash appended", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			e := forge(ev[n], "hk:H99999999")
			e.Hash = bytes.Repeat([]byte{0xAB}, 32)
			insertEvent(t, raw, e)
		}, n + 1, false},
		{"head hash changed", func(t *testing.T, raw *sql.DB, ev []audit.Event) {
			exec(t, raw, `UPDATE audit_head SET hash = $1 WHERE id = 1`, ev[n-1].Hash)
		}, n, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				raw := storetest.SQL(t, db)
				fixedClock(db, t0)
				for i := range n {
					appendEvent(t, db, audit.Event{Actor: "officer:wong", Action: "credential.issue",
						Subject: fmt.Sprintf("hk:H%08d", i+1), Details: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i+1))})
				}
				anchor, err := db.VerifyAudit(ctx, nil)
				if err != nil || anchor.Seq != n {
					t.Fatalf("VerifyAudit before tampering = %v, %v", anchor, err)
				}
				ev := events(t, db)
				dropAppendOnly(t, db.Engine(), raw)
				tc.tamper(t, raw, ev)

				_, err = db.VerifyAudit(ctx, nil)
				if tc.hidden {
					if err != nil {
						t.Errorf("VerifyAudit without an anchor = %v; this tampering was expected to need one", err)
					}
				} else {
					wantProblem(t, "without an anchor", err, tc.seq)
				}
				_, err = db.VerifyAudit(ctx, &anchor)
				wantProblem(t, "with the anchor "+anchor.String(), err, tc.seq)
			})
		})
	}
}

// Nothing of a transaction that fails stays: not the person, not the
// permits, not the audit event, and the audit chain goes on from where the
// last committed change left it.
func TestUpdateRollsBack(t *testing.T) {
	cases := []struct {
		name string
		fail func(tx *store.Tx, existing *permit.Record) error // called after the writes
	}{
		{"fn returns an error", func(*store.Tx, *permit.Record) error { return errBoom }},
		{"a statement fails", func(tx *store.Tx, existing *permit.Record) error {
			// The residence permit number is taken.
			return tx.SaveResidencePermit(ctx, existing.Person.ID+1000, existing.ResidencePermit)
		}},
		{"fn panics", func(*store.Tx, *permit.Record) error { panic(errBoom) }},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		k1 := addKey(t, db, "kid-1")
		existing := addRecord(t, db, hkPerson(1), residence("810000199005170011"), hkPermit(1))
		for i := range 3 {
			appendEvent(t, db, audit.Event{Actor: "cli", Action: "registry.import", Subject: fmt.Sprintf("hk:H%08d", i)})
		}
		for _, tc := range cases {
			before, err := db.VerifyAudit(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			persons, _ := db.CountPersons(ctx)
			p := hkPerson(2)
			tp := hkPermit(77777777)
			cred := newCredential(existing.Person.ID, k1.Kid, t0)
			err = func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return db.Update(ctx, func(tx *store.Tx) error {
					if err := tx.SavePerson(ctx, p); err != nil {
						return err
					}
					if err := tx.SaveTravelPermit(ctx, p.ID, &tp); err != nil {
						return err
					}
					if err := tx.SaveResidencePermit(ctx, p.ID, residence("810000199005170039")); err != nil {
						return err
					}
					if err := tx.SetTravelPermitStatus(ctx, permit.HKHomeReturnPermit, existing.TravelPermits[0].Number, permit.StatusCancelled); err != nil {
						return err
					}
					if err := issue(tx, cred); err != nil {
						return err
					}
					if err := tx.RetireIssuerKey(ctx, k1.Kid); err != nil {
						return err
					}
					if err := tx.Audit(ctx, audit.Event{Actor: "cli", Action: "registry.create", Subject: tp.Key()}); err != nil {
						return err
					}
					return tc.fail(tx, existing)
				})
			}()
			if err == nil {
				t.Fatalf("%s: Update succeeded", tc.name)
			}

			// Checked under a deadline: a transaction left open would hold
			// the write lock and make the next write wait for ever.
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if n, err := db.CountPersons(cctx); err != nil || n != persons {
				t.Errorf("%s: CountPersons = %d, %v; want %d", tc.name, n, err, persons)
			}
			err = db.View(cctx, func(tx *store.Tx) error {
				if _, err := tx.PersonIDByPermit(cctx, tp.Type, tp.Number); permit.ErrorCode(err) != permit.ECodeNotFound {
					t.Errorf("%s: the permit of the rolled back person is there (%v)", tc.name, err)
				}
				if _, err := tx.PersonIDByResidencePermit(cctx, "810000199005170039"); permit.ErrorCode(err) != permit.ECodeNotFound {
					t.Errorf("%s: the residence permit of the rolled back person is there (%v)", tc.name, err)
				}
				if _, err := tx.Credential(cctx, cred.ID); permit.ErrorCode(err) != permit.ECodeNotFound {
					t.Errorf("%s: the rolled back credential is there (%v)", tc.name, err)
				}
				if k, err := tx.ActiveIssuerKey(cctx); err != nil || k.Kid != k1.Kid {
					t.Errorf("%s: ActiveIssuerKey = %v, %v; want %s still active", tc.name, k, err, k1.Kid)
				}
				rec, err := tx.Record(cctx, existing.Person.ID)
				if err != nil || !reflect.DeepEqual(rec, existing) {
					t.Errorf("%s: the existing record changed: %+v, %v", tc.name, rec, err)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			after, err := db.VerifyAudit(cctx, &before)
			if err != nil || after.String() != before.String() {
				t.Errorf("%s: VerifyAudit = %v, %v; want %v (the event rolled back)", tc.name, after, err, before)
			}

			// The store is still usable and the chain goes on from before.
			err = db.Update(cctx, func(tx *store.Tx) error {
				return tx.Audit(cctx, audit.Event{Actor: "cli", Action: "test.after", Subject: tc.name})
			})
			if err != nil {
				t.Fatalf("%s: Update after the failed one: %v", tc.name, err)
			}
			if next, err := db.VerifyAudit(cctx, &before); err != nil || next.Seq != before.Seq+1 {
				t.Errorf("%s: VerifyAudit after the next append = %v, %v; want %d events", tc.name, next, err, before.Seq+1)
			}
		}
	})
}
