package store_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// newCredential returns an active 7-day e-permit issued at issued.
func newCredential(personID int64, kid string, issued time.Time) *permit.Credential {
	cti := make([]byte, 16)
	rand.Read(cti)
	return &permit.Credential{
		ID:        cti,
		Kind:      permit.TemporaryEPermit,
		PersonID:  personID,
		KeyID:     kid,
		IssuedAt:  issued,
		NotBefore: issued,
		ExpiresAt: issued.Add(7 * 24 * time.Hour),
		HolderKey: []byte("0Y0\x13\x06\x07*\x86H\xce=\x02\x01holder"),
		State:     permit.CredentialActive,
		Token:     []byte("\xd2\x84signed-cwt"),
	}
}

// issue allocates a status entry for c and records it, in tx.
func issue(tx *store.Tx, c *permit.Credential) error {
	list, idx, err := tx.AllocateStatus(ctx, 1024)
	if err != nil {
		return err
	}
	c.StatusList, c.StatusIndex = list, idx
	return tx.AddCredential(ctx, c)
}

func newApplication(personID int64, kind permit.Kind, month, key string) *permit.Application {
	return &permit.Application{PersonID: personID, Kind: kind, DocumentType: permit.HKHomeReturnPermit,
		DocumentNumber: "H00000001", Reason: 2, Month: month, CreatedAt: t0, Channel: permit.ChannelOnline, IdempotencyKey: key}
}

func credential(t testing.TB, db *store.DB, cti []byte) *permit.Credential {
	t.Helper()
	var c *permit.Credential
	view(t, db, func(tx *store.Tx) (err error) {
		c, err = tx.Credential(ctx, cti)
		return err
	})
	return c
}

func TestApplications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		kid := addKey(t, db, "kid-1").Kid
		a := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		b := addRecord(t, db, hkPerson(2), nil, hkPermit(2)).Person.ID

		apps := []*permit.Application{
			newApplication(a, permit.TemporaryEPermit, "2026-11", "idem-1"),
			newApplication(a, permit.TemporaryEPermit, "2026-11", ""),
			newApplication(a, permit.TemporaryEPermit, "2026-12", ""), // empty keys do not collide
			newApplication(a, permit.LinkageProofKind, "2026-11", "idem-2"),
			newApplication(b, permit.TemporaryEPermit, "2026-11", "idem-3"),
		}
		apps[1].Channel = permit.ChannelCounter
		ids := map[int64]bool{}
		creds := make([]*permit.Credential, len(apps))
		update(t, db, func(tx *store.Tx) error {
			for i, app := range apps {
				if err := tx.AddApplication(ctx, app); err != nil {
					return fmt.Errorf("application %d: %w", i, err)
				}
				if app.ID == 0 || ids[app.ID] {
					t.Errorf("application %d: AddApplication set ID %d; want a new non-zero ID", i, app.ID)
				}
				ids[app.ID] = true
				// As in issuance, every application is recorded with its credential.
				creds[i] = newCredential(app.PersonID, kid, t0)
				creds[i].Kind, creds[i].ApplicationID = app.Kind, app.ID
				if err := issue(tx, creds[i]); err != nil {
					return err
				}
			}
			// Seen at once by the transaction that added them.
			if n, err := tx.CountApplications(ctx, a, permit.TemporaryEPermit, "2026-11"); err != nil || n != 2 {
				t.Errorf("CountApplications in the adding transaction = %d, %v; want 2", n, err)
			}
			return nil
		})

		counts := []struct {
			person int64
			kind   permit.Kind
			month  string
			want   int
		}{
			{a, permit.TemporaryEPermit, "2026-11", 2},
			{a, permit.TemporaryEPermit, "2026-12", 1},
			{a, permit.TemporaryEPermit, "2026-10", 0},
			{a, permit.LinkageProofKind, "2026-11", 1},
			{a, permit.ElectronicPermit, "2026-11", 0},
			{b, permit.TemporaryEPermit, "2026-11", 1},
			{b, permit.TemporaryEPermit, "2026-12", 0},
			{999999, permit.TemporaryEPermit, "2026-11", 0},
		}
		check := func(when string) {
			t.Helper()
			view(t, db, func(tx *store.Tx) error {
				for _, c := range counts {
					if n, err := tx.CountApplications(ctx, c.person, c.kind, c.month); err != nil || n != c.want {
						t.Errorf("%s: CountApplications(%d, %d, %s) = %d, %v; want %d", when, c.person, c.kind, c.month, n, err, c.want)
					}
				}
				return nil
			})
		}
		check("after adding")

		// A repeated idempotency key fails, whoever the person, and the
		// transaction leaves nothing.
		for _, dup := range []*permit.Application{
			newApplication(a, permit.TemporaryEPermit, "2026-11", "idem-1"),
			newApplication(b, permit.TemporaryEPermit, "2026-12", "idem-1"),
		} {
			err := db.Update(ctx, func(tx *store.Tx) error {
				if err := tx.AddApplication(ctx, newApplication(a, permit.TemporaryEPermit, "2026-11", "")); err != nil {
					return err
				}
				return tx.AddApplication(ctx, dup)
			})
			if err == nil {
				t.Errorf("a second application with idempotency key %q was added", dup.IdempotencyKey)
			}
		}
		check("after failed duplicates")

		// A voided application no longer counts; voiding it again fails.
		update(t, db, func(tx *store.Tx) error { return tx.VoidApplication(ctx, apps[1].ID) })
		counts[0].want = 1
		check("after voiding one")
		wantCode(t, "voiding again", db.Update(ctx, func(tx *store.Tx) error { return tx.VoidApplication(ctx, apps[1].ID) }), permit.ECodeNotFound)

		// The credential for the application that carried the key.
		view(t, db, func(tx *store.Tx) error {
			for _, tc := range []struct {
				key  string
				want *permit.Credential
			}{
				{"idem-1", creds[0]},
				{"idem-2", creds[3]},
				{"idem-3", creds[4]},
				{"idem-unknown", nil},
				{"", nil}, // never matches the applications that carried no key
			} {
				got, err := tx.CredentialByIdempotencyKey(ctx, tc.key)
				if tc.want == nil {
					wantCode(t, fmt.Sprintf("CredentialByIdempotencyKey(%q)", tc.key), err, permit.ECodeNotFound)
				} else if err != nil || !reflect.DeepEqual(got, tc.want) {
					t.Errorf("CredentialByIdempotencyKey(%q) = %+v, %v;\nwant %+v", tc.key, got, err, tc.want)
				}
			}
			return nil
		})
	})
}

func TestCredentialRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		raw := storetest.SQL(t, db)
		kid := addKey(t, db, "kid-1").Kid
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		app := newApplication(person, permit.TemporaryEPermit, "2026-11", "")
		update(t, db, func(tx *store.Tx) error { return tx.AddApplication(ctx, app) })

		bigToken := make([]byte, 8<<10)
		rand.Read(bigToken)
		cases := []struct {
			name string
			edit func(*permit.Credential)
		}{
			{"zero state time, no application", func(c *permit.Credential) {}},
			{"from an application, suspended", func(c *permit.Credential) {
				c.ApplicationID, c.State, c.StateReason, c.StateAt = app.ID, permit.CredentialSuspended, "officer review", t0.Add(time.Hour)
				c.NotBefore = t0.Add(time.Minute)
			}},
			{"electronic permit, revoked, large token", func(c *permit.Credential) {
				c.Kind, c.State, c.StateReason, c.StateAt = permit.ElectronicPermit, permit.CredentialRevoked, "吊銷：證件報失", t0.Add(2*time.Hour)
				c.ExpiresAt, c.Token, c.HolderKey = t0.AddDate(5, 0, 0), bigToken, spki(t)
			}},
			{"linkage proof", func(c *permit.Credential) {
				c.Kind, c.ExpiresAt = permit.LinkageProofKind, t0.AddDate(0, 3, 0)
				c.Token = []byte("eyJhbGciOiJFUzI1NiJ9.e30.sig~disclosure~")
			}},
		}
		for _, tc := range cases {
			c := newCredential(person, kid, t0)
			tc.edit(c)
			update(t, db, func(tx *store.Tx) error { return issue(tx, c) })
			if got := credential(t, db, c.ID); !reflect.DeepEqual(got, c) {
				t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, c)
			}
			// Absent values are NULL, not zeros: the application reference
			// is a foreign key and state_at a "never changed" marker.
			var appNull, stateNull int
			if err := raw.QueryRowContext(ctx, `SELECT
				CASE WHEN application_id IS NULL THEN 1 ELSE 0 END, CASE WHEN state_at IS NULL THEN 1 ELSE 0 END
				FROM credentials WHERE cti = $1`, c.ID).Scan(&appNull, &stateNull); err != nil {
				t.Fatal(err)
			}
			if (appNull == 1) != (c.ApplicationID == 0) || (stateNull == 1) != c.StateAt.IsZero() {
				t.Errorf("%s: application_id NULL = %v, state_at NULL = %v; want %v, %v",
					tc.name, appNull == 1, stateNull == 1, c.ApplicationID == 0, c.StateAt.IsZero())
			}
		}

		err := db.View(ctx, func(tx *store.Tx) error { _, err := tx.Credential(ctx, make([]byte, 16)); return err })
		wantCode(t, "Credential of an unknown cti", err, permit.ECodeNotFound)

		// A status entry cannot carry two credentials.
		first := newCredential(person, kid, t0)
		update(t, db, func(tx *store.Tx) error { return issue(tx, first) })
		second := newCredential(person, kid, t0)
		second.StatusList, second.StatusIndex = first.StatusList, first.StatusIndex
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddCredential(ctx, second) }); err == nil {
			t.Error("two credentials share one status entry")
		}
	})
}

func TestCurrentCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := fixedClock(db, t0.Add(72*time.Hour))
		kid := addKey(t, db, "kid-1").Kid
		p := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		q := addRecord(t, db, hkPerson(2), nil, hkPermit(2)).Person.ID

		mk := func(person int64, issued, expires time.Time, state permit.CredentialState) *permit.Credential {
			c := newCredential(person, kid, issued)
			c.ExpiresAt, c.State = expires, state
			return c
		}
		active := mk(p, t0, t0.Add(7*24*time.Hour), permit.CredentialActive)
		revoked := mk(p, t0.Add(1*time.Hour), t0.Add(7*24*time.Hour), permit.CredentialRevoked)
		expired := mk(p, t0.Add(-10*24*time.Hour), now.Add(-time.Second), permit.CredentialActive)
		expiresNow := mk(p, t0.Add(2*time.Hour), now, permit.CredentialActive)
		lastSecond := mk(p, t0.Add(3*time.Hour), now.Add(time.Second), permit.CredentialActive)
		suspended := mk(p, t0.Add(4*time.Hour), t0.Add(7*24*time.Hour), permit.CredentialSuspended)
		otherKind := mk(p, t0.Add(5*time.Hour), t0.Add(7*24*time.Hour), permit.CredentialActive)
		otherKind.Kind = permit.LinkageProofKind
		otherPerson := mk(q, t0.Add(6*time.Hour), t0.Add(7*24*time.Hour), permit.CredentialActive)
		update(t, db, func(tx *store.Tx) error {
			for _, c := range []*permit.Credential{active, revoked, expired, expiresNow, lastSecond, suspended, otherKind, otherPerson} {
				if err := issue(tx, c); err != nil {
					return err
				}
			}
			return nil
		})
		// A credential revoked later through SetCredentialState is no longer current.
		revokedLater := mk(p, t0.Add(30*time.Minute), t0.Add(7*24*time.Hour), permit.CredentialActive)
		update(t, db, func(tx *store.Tx) error {
			if err := issue(tx, revokedLater); err != nil {
				return err
			}
			return tx.SetCredentialState(ctx, revokedLater.ID, permit.CredentialRevoked, "cancelled by the holder")
		})
		revokedLater.State, revokedLater.StateReason, revokedLater.StateAt = permit.CredentialRevoked, "cancelled by the holder", now

		list := func(person int64, kind permit.Kind, current bool) []permit.Credential {
			var cs []permit.Credential
			view(t, db, func(tx *store.Tx) (err error) {
				cs, err = tx.Credentials(ctx, person, kind, current)
				return err
			})
			return cs
		}
		for _, tc := range []struct {
			name    string
			person  int64
			kind    permit.Kind
			current bool
			want    []*permit.Credential
		}{
			{"current", p, permit.TemporaryEPermit, true, []*permit.Credential{suspended, lastSecond, active}},
			{"all", p, permit.TemporaryEPermit, false, []*permit.Credential{suspended, lastSecond, expiresNow, revoked, revokedLater, active, expired}},
			{"other kind", p, permit.LinkageProofKind, true, []*permit.Credential{otherKind}},
			{"other person", q, permit.TemporaryEPermit, false, []*permit.Credential{otherPerson}},
			{"kind never issued", q, permit.ElectronicPermit, false, nil},
			{"unknown person", 999999, permit.TemporaryEPermit, false, nil},
		} {
			got := list(tc.person, tc.kind, tc.current)
			var want []permit.Credential
			for _, c := range tc.want {
				want = append(want, *c)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Credentials %s: got %d credentials, want %d:\n got %s\nwant %s", tc.name, len(got), len(want), ctis(got), ctis(want))
				for i := range min(len(got), len(want)) {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Errorf("  [%d]\n got %+v\nwant %+v", i, got[i], want[i])
					}
				}
			}
		}

		// Time moves on: the clock decides what is current.
		fixedClock(db, t0.Add(7*24*time.Hour))
		if got := list(p, permit.TemporaryEPermit, true); len(got) != 0 {
			t.Errorf("Credentials current at expiry = %s; want none", ctis(got))
		}
	})
}

func ctis(cs []permit.Credential) string {
	s := ""
	for _, c := range cs {
		s += fmt.Sprintf(" %x(%s,exp %s)", c.ID[:3], c.State, c.ExpiresAt.Format(time.DateTime))
	}
	return "[" + s + " ]"
}

func TestSetCredentialState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := fixedClock(db, t0)
		kid := addKey(t, db, "kid-1").Kid
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		c, bystander := newCredential(person, kid, t0), newCredential(person, kid, t0)
		update(t, db, func(tx *store.Tx) error {
			if err := issue(tx, c); err != nil {
				return err
			}
			return issue(tx, bystander)
		})
		if c.StatusList != bystander.StatusList {
			t.Fatalf("two allocations in a fresh database landed in lists %d and %d", c.StatusList, bystander.StatusList)
		}
		version := func() int64 {
			v, err := db.StatusListVersion(ctx, c.StatusList)
			if err != nil {
				t.Fatalf("StatusListVersion: %v", err)
			}
			return v
		}
		v := version()
		if sl, err := db.LoadStatusList(ctx, c.StatusList); err != nil || len(sl.Entries) != 0 || sl.Version != v || sl.Size != 1024 {
			t.Errorf("LoadStatusList of fresh entries = %+v, %v; want size 1024, version %d, no entries", sl, err, v)
		}

		for i, step := range []struct {
			state  permit.CredentialState
			reason string
			entry  int // want status list value; 0 is absent from LoadStatusList
			bump   bool
		}{
			{permit.CredentialSuspended, "officer review", store.StatusSuspended, true},
			{permit.CredentialSuspended, "still under review", store.StatusSuspended, false},
			{permit.CredentialActive, "review cleared", store.StatusValid, true},
			{permit.CredentialActive, "", store.StatusValid, false},
			{permit.CredentialRevoked, "reported stolen", store.StatusInvalid, true},
			{permit.CredentialRevoked, "reported stolen", store.StatusInvalid, false},
		} {
			now = fixedClock(db, now.Add(time.Minute))
			update(t, db, func(tx *store.Tx) error { return tx.SetCredentialState(ctx, c.ID, step.state, step.reason) })
			c.State, c.StateReason, c.StateAt = step.state, step.reason, now
			what := fmt.Sprintf("step %d (%s, %q)", i+1, step.state, step.reason)
			if got := credential(t, db, c.ID); !reflect.DeepEqual(got, c) {
				t.Errorf("%s: credential\n got %+v\nwant %+v", what, got, c)
			}
			want := v
			if step.bump {
				want++
			}
			if v = version(); v != want {
				t.Errorf("%s: StatusListVersion = %d, want %d", what, v, want)
			}
			sl, err := db.LoadStatusList(ctx, c.StatusList)
			wantEntries := map[int64]int{}
			if step.entry != 0 {
				wantEntries[c.StatusIndex] = step.entry
			}
			if err != nil || sl.Version != v || !reflect.DeepEqual(sl.Entries, wantEntries) {
				t.Errorf("%s: LoadStatusList = %+v, %v; want version %d, entries %v", what, sl, err, v, wantEntries)
			}
		}
		if got := credential(t, db, bystander.ID); !reflect.DeepEqual(got, bystander) {
			t.Errorf("the other credential changed:\n got %+v\nwant %+v", got, bystander)
		}

		err := db.Update(ctx, func(tx *store.Tx) error {
			return tx.SetCredentialState(ctx, make([]byte, 16), permit.CredentialRevoked, "x")
		})
		wantCode(t, "SetCredentialState of an unknown cti", err, permit.ECodeNotFound)
		if got := version(); got != v {
			t.Errorf("StatusListVersion after a failed change = %d, want %d", got, v)
		}
	})
}

// Signing a list reads only its entries that are not 0, through the
// partial index of migration 032, not every allocated entry: on a list of
// 50,000 allocated entries, 2% set, both planners take the index.
func TestStatusSetEntriesPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		raw := storetest.SQL(t, db)
		var list int64
		if err := raw.QueryRow(`INSERT INTO status_lists (size, used, created_at) VALUES (65536, 50000, 0) RETURNING id`).Scan(&list); err != nil {
			t.Fatal(err)
		}
		fill := `INSERT INTO status_entries (list_id, idx, status)
			WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 49999)
			SELECT $1, i, CASE WHEN i % 50 = 0 THEN 1 + i / 50 % 2 ELSE 0 END FROM s`
		explain := `EXPLAIN QUERY PLAN `
		if db.Engine() == store.Postgres {
			fill = `INSERT INTO status_entries (list_id, idx, status)
				SELECT $1, i, CASE WHEN i % 50 = 0 THEN 1 + i / 50 % 2 ELSE 0 END FROM generate_series(0, 49999) i`
			explain = `EXPLAIN `
		}
		if _, err := raw.Exec(fill, list); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		rows, err := raw.Query(explain+store.SetEntriesQuery, list)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var plan []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if p := strings.Join(plan, "\n"); !strings.Contains(p, "status_entries_set") {
			t.Errorf("the set entries' query does not use the partial index:\n%s", p)
		}
		sl, err := db.LoadStatusList(ctx, list)
		if err != nil || len(sl.Entries) != 1000 || sl.Entries[0] != 1 || sl.Entries[50] != 2 {
			t.Errorf("LoadStatusList: %d entries, %v; want 1000 (0 revoked, 50 suspended)", len(sl.Entries), err)
		}
	})
}

func TestLoadStatusList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		kid := addKey(t, db, "kid-1").Kid
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		var cs []*permit.Credential
		update(t, db, func(tx *store.Tx) error {
			for range 20 {
				c := newCredential(person, kid, t0)
				if err := issue(tx, c); err != nil {
					return err
				}
				cs = append(cs, c)
			}
			return nil
		})
		list := cs[0].StatusList
		states := map[int]permit.CredentialState{3: permit.CredentialRevoked, 7: permit.CredentialRevoked, 11: permit.CredentialSuspended, 15: permit.CredentialActive}
		want := map[int64]int{}
		update(t, db, func(tx *store.Tx) error {
			for i, s := range states {
				if err := tx.SetCredentialState(ctx, cs[i].ID, s, "test"); err != nil {
					return err
				}
				if s != permit.CredentialActive {
					want[cs[i].StatusIndex] = store.StatusOf(s)
				}
			}
			return nil
		})
		sl, err := db.LoadStatusList(ctx, list)
		if err != nil {
			t.Fatal(err)
		}
		// Three entries changed in one transaction: three bumps from 1.
		if sl.ID != list || sl.Size != 1024 || sl.Version != 4 || !reflect.DeepEqual(sl.Entries, want) {
			t.Errorf("LoadStatusList = %+v; want id %d, size 1024, version 4, entries %v", sl, list, want)
		}

		_, err = db.LoadStatusList(ctx, list+1000)
		wantCode(t, "LoadStatusList of an unknown list", err, permit.ECodeNotFound)
		_, err = db.StatusListVersion(ctx, list+1000)
		wantCode(t, "StatusListVersion of an unknown list", err, permit.ECodeNotFound)
	})
}

// statusLimit is how many entries a list of size gets before a new list is
// started (the store's fill factor is 0.9).
func statusLimit(size int64) int { return int(float64(size) * 0.9) }

func allocate(t testing.TB, db *store.DB, size int64) (list, idx int64) {
	t.Helper()
	update(t, db, func(tx *store.Tx) (err error) {
		list, idx, err = tx.AllocateStatus(ctx, size)
		return err
	})
	return list, idx
}

func TestAllocateStatusFill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, size := range []int64{15, 0, -1} {
			err := db.Update(ctx, func(tx *store.Tx) error { _, _, err := tx.AllocateStatus(ctx, size); return err })
			if err == nil {
				t.Errorf("AllocateStatus(%d) worked; the minimum size is 16", size)
			}
		}
		seenLists := map[int64]bool{}
		// Each size fills two lists exactly, so the next size starts a new list.
		for _, size := range []int64{16, 20, 100} {
			limit := statusLimit(size)
			for n := range 2 {
				var list int64
				used := map[int64]bool{}
				for i := range limit {
					l, idx := allocate(t, db, size)
					if i == 0 {
						if seenLists[l] {
							t.Fatalf("size %d, list #%d: allocation went to the old list %d; want a new one", size, n+1, l)
						}
						seenLists[l], list = true, l
					}
					if l != list {
						t.Fatalf("size %d: allocation %d of %d went to list %d; want list %d until %d are used",
							size, i+1, limit, l, list, limit)
					}
					if idx < 0 || idx >= size || used[idx] {
						t.Fatalf("size %d: allocation %d: index %d out of range or handed out twice", size, i+1, idx)
					}
					used[idx] = true
				}
				sl, err := db.LoadStatusList(ctx, list)
				if err != nil || sl.Size != size {
					t.Errorf("LoadStatusList(%d) = %+v, %v; want size %d", list, sl, err, size)
				}
			}
		}
		// A list with room is used whatever size is asked for; the size
		// applies to new lists.
		l1, _ := allocate(t, db, 16)
		l2, idx := allocate(t, db, 4096)
		if l1 != l2 || idx >= 16 || seenLists[l1] {
			t.Errorf("allocations with size 16 then 4096 went to (%d) then (%d, %d); want one new list of 16", l1, l2, idx)
		}

		// Allocations rolled back are not consumed: the list still takes
		// exactly its limit.
		var rolled int64
		err := db.Update(ctx, func(tx *store.Tx) error {
			for range statusLimit(16) - 2 {
				l, _, err := tx.AllocateStatus(ctx, 16)
				if err != nil {
					return err
				}
				rolled = l
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) || rolled != l1 {
			t.Fatalf("rolled back allocations: %v in list %d; want errBoom in list %d", err, rolled, l1)
		}
		for i := 2; i < statusLimit(16); i++ {
			if l, _ := allocate(t, db, 16); l != l1 {
				t.Fatalf("allocation %d after a rollback went to list %d; want %d", i+1, l, l1)
			}
		}
		if l, _ := allocate(t, db, 16); l == l1 {
			t.Errorf("allocation %d went to list %d, which is full", statusLimit(16)+1, l1)
		}
	})
}

// Issuance from many requests on two replicas at once: every credential
// gets its own status entry, and lists fill no further than the limit.
// Some transactions roll back after their allocation.
func TestAllocateStatusParallel(t *testing.T) {
	// A list of 16 takes 14 entries, less than a block (PostgreSQL); one of
	// 256 takes 230, several blocks.
	for _, size := range []int64{16, 256} {
		t.Run(fmt.Sprint(size), func(t *testing.T) { allocateInParallel(t, size) })
	}
}

func allocateInParallel(t *testing.T, size int64) {
	const (
		workers = 8
		each    = 25
	)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		raw := storetest.SQL(t, db)
		replicas := []*store.DB{db, storetest.Replica(t, db)}
		kid := addKey(t, db, "kid-1").Kid
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		type entry struct{ list, idx int64 }
		var mu sync.Mutex
		seen := map[entry]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				r := replicas[w%len(replicas)]
				for i := range each {
					if i%5 == 0 {
						// One that rolls back: its entry must not be kept, nor count.
						err := r.Update(ctx, func(tx *store.Tx) error {
							if _, _, err := tx.AllocateStatus(ctx, size); err != nil {
								return err
							}
							return errBoom
						})
						if !errors.Is(err, errBoom) {
							t.Errorf("worker %d: a rolled back allocation: %v", w, err)
							return
						}
					}
					var list, idx int64
					err := r.Update(ctx, func(tx *store.Tx) (err error) {
						list, idx, err = tx.AllocateStatus(ctx, size)
						if err != nil {
							return err
						}
						c := newCredential(person, kid, t0)
						c.StatusList, c.StatusIndex = list, idx
						if err := tx.AddCredential(ctx, c); err != nil {
							return err
						}
						if err := tx.Audit(ctx, audit.Event{Actor: "test", Action: "credential.issue", Subject: fmt.Sprintf("cti:%x", c.ID)}); err != nil {
							return err
						}
						return nil
					})
					if err != nil {
						t.Errorf("worker %d, allocation %d: %v", w, i, err)
						return
					}
					mu.Lock()
					seen[entry{list, idx}]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		perList := map[int64]int{}
		for e, n := range seen {
			if n != 1 {
				t.Errorf("status entry (%d, %d) handed out %d times", e.list, e.idx, n)
			}
			if e.idx < 0 || e.idx >= size {
				t.Errorf("status entry (%d, %d) out of range", e.list, e.idx)
			}
			perList[e.list]++
		}
		if len(seen) != workers*each {
			t.Errorf("%d distinct entries, want %d", len(seen), workers*each)
		}
		for l, n := range perList {
			if n > statusLimit(size) {
				t.Errorf("list %d has %d entries, more than the limit %d", l, n, statusLimit(size))
			}
		}
		// The lists' own counters agree with their entries: exactly on
		// SQLite; on PostgreSQL they count the room reserved, which is
		// ahead by what each replica holds unused (at most a block each,
		// and no more than a list's limit).
		rows, err := raw.QueryContext(ctx, `SELECT l.id, l.used, l.size, COUNT(e.idx) FROM status_lists l
			LEFT JOIN status_entries e ON e.list_id = l.id GROUP BY l.id, l.used, l.size ORDER BY l.id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		ahead := int64(0)
		for rows.Next() {
			var id, used, sz, n int64
			if err := rows.Scan(&id, &used, &sz, &n); err != nil {
				t.Fatal(err)
			}
			if used < n || used > int64(statusLimit(size)) || n != int64(perList[id]) || sz != size ||
				db.Engine() == store.SQLite && used != n {
				t.Errorf("list %d: used = %d, %d entries in the table, %d handed out, size %d", id, used, n, perList[id], sz)
			}
			ahead += used - n
		}
		if max := int64(len(replicas) * statusLimit(size)); ahead > max {
			t.Errorf("the counters are %d ahead of the entries; want at most %d", ahead, max)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if head, err := db.VerifyAudit(ctx, nil); err != nil || head.Seq != workers*each {
			t.Errorf("VerifyAudit = %d, %v; want %d events", head.Seq, err, workers*each)
		}
	})
}

// The version a status list GET asks for comes from memory for
// StatusVersionFresh: a change this DB commits is seen at once, one another
// process commits (a replica) once that time has passed.
func TestStatusListVersionCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		replica := storetest.Replica(t, db)
		kid := addKey(t, db, "kid-1").Kid
		person := addRecord(t, db, hkPerson(1), nil, hkPermit(1)).Person.ID
		c := newCredential(person, kid, t0)
		update(t, db, func(tx *store.Tx) error { return issue(tx, c) })
		version := func(db *store.DB) int64 {
			t.Helper()
			v, err := db.StatusListVersion(ctx, c.StatusList)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		setState := func(db *store.DB, s permit.CredentialState) {
			update(t, db, func(tx *store.Tx) error { return tx.SetCredentialState(ctx, c.ID, s, "test") })
		}
		v0 := version(db)

		setState(db, permit.CredentialSuspended) // through db: seen at once
		v1 := version(db)
		if v1 == v0 {
			t.Fatalf("version after this DB's change = %d, as before", v1)
		}

		start := time.Now()
		setState(replica, permit.CredentialActive) // through another process
		// Asked again at once (within 200 ms, well inside StatusVersionFresh;
		// a slower machine checks nothing here), the answer is the cached one.
		if v := version(db); v != v1 && time.Since(start) < 200*time.Millisecond {
			t.Fatalf("another process's change seen at once (version %d → %d): not cached", v1, v)
		}
		time.Sleep(store.StatusVersionFresh)
		if v := version(db); v == v1 {
			t.Fatalf("another process's change not seen after %v (version %d)", store.StatusVersionFresh, v)
		}

		// After an issuer key is revoked every list is to be signed again,
		// changed entries or not.
		v2 := version(db)
		update(t, db, func(tx *store.Tx) error { return tx.ChangeAllStatusLists(ctx) })
		if v := version(db); v == v2 {
			t.Fatalf("version after ChangeAllStatusLists = %d, as before", v)
		}

		if _, err := db.StatusListVersion(ctx, 1<<40); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Fatalf("unknown list: %v, want not_found", err)
		}
	})
}
