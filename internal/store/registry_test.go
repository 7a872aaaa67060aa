package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestSavePersonRoundTrip(t *testing.T) {
	people := []struct {
		name   string
		person permit.Person
		change func(*permit.Person)
	}{
		{
			name:   "hong kong, chinese name",
			person: *hkPerson(1),
			change: func(p *permit.Person) {
				p.Name, p.LatinName, p.Sex = "陳美玲", "CHAN, MEI LING", permit.Female
				p.BirthDate = permit.Date{Year: 1991, Month: time.December, Day: 31}
				p.Phone, p.Portrait = "+85298765432", portrait(1001)
			},
		},
		{
			name: "taiwan, no chinese name",
			person: permit.Person{LatinName: "LIN, CHIH-LING", Sex: permit.Female, Region: permit.RegionTW,
				BirthDate: permit.Date{Year: 1974, Month: time.November, Day: 29}, Phone: "+886912345678", Portrait: portrait(2)},
			change: func(p *permit.Person) {
				p.Name, p.LatinName, p.Region = "林志玲", "LIN, CHI LING", permit.RegionTW
			},
		},
		{
			name: "macau, name with middle dot",
			person: permit.Person{Name: "歐陽·娜娜", LatinName: "AUYEUNG, NANA", Sex: permit.Female, Region: permit.RegionMO,
				BirthDate: permit.Date{Year: 2000, Month: time.June, Day: 15}, Phone: "+85361234567", Portrait: portrait(3)},
			change: func(p *permit.Person) {
				p.Name, p.Region, p.Phone = "", permit.RegionHK, "+85260000000"
				p.Portrait = append([]byte("\xff\xd8\xff\xe0"), make([]byte, 300)...) // a JPEG header and zeros
			},
		},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tc := range people {
			p := tc.person
			update(t, db, func(tx *store.Tx) error { return tx.SavePerson(ctx, &p) })
			if p.ID == 0 {
				t.Fatalf("%s: SavePerson did not set the ID", tc.name)
			}
			wantRecord(t, tc.name+": after insert", record(t, db, p.ID), &permit.Record{Person: p})

			tc.change(&p)
			id := p.ID
			update(t, db, func(tx *store.Tx) error { return tx.SavePerson(ctx, &p) })
			if p.ID != id {
				t.Errorf("%s: update changed the ID from %d to %d", tc.name, id, p.ID)
			}
			wantRecord(t, tc.name+": after update", record(t, db, p.ID), &permit.Record{Person: p})
		}
		if n, err := db.CountPersons(ctx); err != nil || n != int64(len(people)) {
			t.Errorf("CountPersons = %d, %v; want %d (updates must not insert)", n, err, len(people))
		}

		ghost := hkPerson(9)
		ghost.ID = 999999
		wantCode(t, "SavePerson with an unknown ID", db.Update(ctx, func(tx *store.Tx) error { return tx.SavePerson(ctx, ghost) }), permit.ECodeNotFound)
	})
}

func TestTravelPermits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tw := permit.TravelPermit{Type: permit.TWTravelPermit, Number: "12345678", Renewal: 2,
			IssuedOn: permit.Date{Year: 2019, Month: time.July, Day: 1}, ExpiresOn: permit.Date{Year: 2024, Month: time.June, Day: 30},
			Status: permit.StatusValid}
		// Saved out of order: Record returns permits by type, then number.
		want := addRecord(t, db, hkPerson(1), nil, hkPermit(22222222), tw, hkPermit(11111111))
		want.TravelPermits = []permit.TravelPermit{hkPermit(11111111), hkPermit(22222222), tw}
		id := want.Person.ID
		wantRecord(t, "Record", record(t, db, id), want)

		other := addRecord(t, db, hkPerson(2), nil, hkPermit(33333333))

		// Same (type, number): the permit is replaced, not added.
		renewed := hkPermit(11111111)
		renewed.Renewal, renewed.Status = 1, permit.StatusReportedLost
		renewed.IssuedOn, renewed.ExpiresOn = permit.Date{Year: 2025, Month: time.January, Day: 2}, permit.Date{Year: 2035, Month: time.January, Day: 1}
		update(t, db, func(tx *store.Tx) error { return tx.SaveTravelPermit(ctx, id, &renewed) })
		want.TravelPermits[0] = renewed
		wantRecord(t, "Record after upsert", record(t, db, id), want)
		wantRecord(t, "other person after upsert", record(t, db, other.Person.ID), other)

		view(t, db, func(tx *store.Tx) error {
			for _, tc := range []struct {
				t      permit.DocumentType
				number string
				want   *permit.Record
			}{
				{permit.HKHomeReturnPermit, "H11111111", want},
				{permit.HKHomeReturnPermit, "H22222222", want},
				{permit.TWTravelPermit, "12345678", want},
				{permit.HKHomeReturnPermit, "H33333333", other},
				{permit.HKHomeReturnPermit, "H99999999", nil},
				{permit.MOHomeReturnPermit, "H11111111", nil}, // right number, wrong type
				{permit.TWTravelPermit, "H11111111", nil},
			} {
				what := fmt.Sprintf("%s %s", tc.t, tc.number)
				gotID, err := tx.PersonIDByPermit(ctx, tc.t, tc.number)
				rec, recErr := tx.RecordByPermit(ctx, tc.t, tc.number)
				if tc.want == nil {
					wantCode(t, "PersonIDByPermit "+what, err, permit.ECodeNotFound)
					wantCode(t, "RecordByPermit "+what, recErr, permit.ECodeNotFound)
					continue
				}
				if err != nil || gotID != tc.want.Person.ID {
					t.Errorf("PersonIDByPermit %s = %d, %v; want %d", what, gotID, err, tc.want.Person.ID)
				}
				if recErr != nil {
					t.Errorf("RecordByPermit %s: %v", what, recErr)
				} else {
					wantRecord(t, "RecordByPermit "+what, rec, tc.want)
				}
			}
			_, err := tx.Record(ctx, 999999)
			wantCode(t, "Record of an unknown person", err, permit.ECodeNotFound)
			return nil
		})

		// Registry status changes.
		for _, s := range []permit.Status{permit.StatusCancelled, permit.StatusValid, permit.StatusReportedLost} {
			update(t, db, func(tx *store.Tx) error {
				return tx.SetTravelPermitStatus(ctx, permit.TWTravelPermit, "12345678", s)
			})
			want.TravelPermits[2].Status = s
			wantRecord(t, "after SetTravelPermitStatus "+string(s), record(t, db, id), want)
		}
		for _, tc := range []struct {
			t      permit.DocumentType
			number string
		}{{permit.HKHomeReturnPermit, "H99999999"}, {permit.MOHomeReturnPermit, "H11111111"}} {
			err := db.Update(ctx, func(tx *store.Tx) error {
				return tx.SetTravelPermitStatus(ctx, tc.t, tc.number, permit.StatusCancelled)
			})
			wantCode(t, fmt.Sprintf("SetTravelPermitStatus %s %s", tc.t, tc.number), err, permit.ECodeNotFound)
		}
		wantRecord(t, "after failed status changes", record(t, db, id), want)
	})
}

func TestResidencePermits(t *testing.T) {
	const (
		numA  = "810000199005170011"
		numA2 = "810000199005170039"
		numB  = "810000198001010022"
	)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := addRecord(t, db, hkPerson(1), residence(numA), hkPermit(11111111))
		b := addRecord(t, db, hkPerson(2), residence(numB), hkPermit(22222222))
		wantRecord(t, "A", record(t, db, a.Person.ID), a)
		wantRecord(t, "B", record(t, db, b.Person.ID), b)

		holder := func(number string) (int64, error) {
			var id int64
			err := db.View(ctx, func(tx *store.Tx) (err error) {
				id, err = tx.PersonIDByResidencePermit(ctx, number)
				return err
			})
			return id, err
		}
		wantHolder := func(what, number string, want int64) {
			t.Helper()
			id, err := holder(number)
			if want == 0 {
				wantCode(t, what+": PersonIDByResidencePermit "+number, err, permit.ECodeNotFound)
			} else if err != nil || id != want {
				t.Errorf("%s: PersonIDByResidencePermit %s = %d, %v; want %d", what, number, id, err, want)
			}
		}
		wantHolder("initial", numA, a.Person.ID)
		wantHolder("initial", numB, b.Person.ID)
		wantHolder("initial", "810000190001010000", 0)

		// The number is unique across persons: B cannot take A's number, and
		// the failed attempt leaves B's own permit in place.
		err := db.Update(ctx, func(tx *store.Tx) error { return tx.SaveResidencePermit(ctx, b.Person.ID, residence(numA)) })
		if err == nil {
			t.Error("a second person saved the same residence permit number")
		}
		// A new person with A's number fails too, and leaves nothing behind.
		err = db.Update(ctx, func(tx *store.Tx) error {
			return saveRecord(tx, hkPerson(3), residence(numA), hkPermit(33333333))
		})
		if err == nil {
			t.Error("a new person saved an existing residence permit number")
		}
		// So does a new person with A's travel permit.
		err = db.Update(ctx, func(tx *store.Tx) error {
			return saveRecord(tx, hkPerson(4), residence("810000199901010011"), a.TravelPermits[0])
		})
		if err == nil {
			t.Error("a new person saved an existing travel permit")
		}
		if n, _ := db.CountPersons(ctx); n != 2 {
			t.Errorf("CountPersons = %d after a failed insert, want 2", n)
		}
		wantRecord(t, "A after B's failed attempt", record(t, db, a.Person.ID), a)
		wantRecord(t, "B after its failed attempt", record(t, db, b.Person.ID), b)
		wantHolder("after failed attempt", numA, a.Person.ID)

		// Replacing: the old number no longer leads to A.
		a.ResidencePermit = residence(numA2)
		a.ResidencePermit.Status = permit.StatusReportedLost
		update(t, db, func(tx *store.Tx) error { return tx.SaveResidencePermit(ctx, a.Person.ID, a.ResidencePermit) })
		wantRecord(t, "A after replace", record(t, db, a.Person.ID), a)
		wantHolder("after replace", numA2, a.Person.ID)
		wantHolder("after replace", numA, 0)

		// Once A's old number is free, B may take it.
		b.ResidencePermit = residence(numA)
		update(t, db, func(tx *store.Tx) error { return tx.SaveResidencePermit(ctx, b.Person.ID, b.ResidencePermit) })
		wantHolder("after B took the freed number", numA, b.Person.ID)
		wantHolder("after B took the freed number", numB, 0)

		// nil removes.
		a.ResidencePermit = nil
		update(t, db, func(tx *store.Tx) error { return tx.SaveResidencePermit(ctx, a.Person.ID, nil) })
		wantRecord(t, "A after removal", record(t, db, a.Person.ID), a)
		wantHolder("after removal", numA2, 0)
		update(t, db, func(tx *store.Tx) error { return tx.SaveResidencePermit(ctx, a.Person.ID, nil) }) // removing nothing is fine
		wantRecord(t, "B at the end", record(t, db, b.Person.ID), b)
	})
}

func TestLockPersonAndCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if n, err := db.CountPersons(ctx); err != nil || n != 0 {
			t.Errorf("CountPersons of an empty registry = %d, %v", n, err)
		}
		var ids []int64
		for i := range 3 {
			ids = append(ids, addRecord(t, db, hkPerson(i), nil, hkPermit(i)).Person.ID)
		}
		if n, err := db.CountPersons(ctx); err != nil || n != 3 {
			t.Errorf("CountPersons = %d, %v; want 3", n, err)
		}
		before := record(t, db, ids[1])
		update(t, db, func(tx *store.Tx) error {
			// Locking twice in one transaction is fine.
			if err := tx.LockPerson(ctx, ids[1]); err != nil {
				return err
			}
			return tx.LockPerson(ctx, ids[1])
		})
		wantRecord(t, "record after LockPerson", record(t, db, ids[1]), before)
		for _, id := range []int64{0, -1, 999999} {
			err := db.Update(ctx, func(tx *store.Tx) error { return tx.LockPerson(ctx, id) })
			wantCode(t, fmt.Sprintf("LockPerson(%d)", id), err, permit.ECodeNotFound)
		}
	})
}

// PermitHolder and LockPermitHolder, issuance's reads, return the person
// with the one permit asked for, and not_found for a permit that is not on
// file or, for PermitHolder, not that person's.
func TestPermitHolder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := addRecord(t, db, hkPerson(1), nil, hkPermit(1), hkPermit(2))
		b := addRecord(t, db, hkPerson(2), nil, hkPermit(3))
		update(t, db, func(tx *store.Tx) error {
			for _, tc := range []struct {
				rec *permit.Record
				tp  permit.TravelPermit
			}{{a, a.TravelPermits[0]}, {a, a.TravelPermits[1]}, {b, b.TravelPermits[0]}} {
				p, tp, err := tx.PermitHolder(ctx, tc.rec.Person.ID, tc.tp.Type, tc.tp.Number)
				if err != nil || !reflect.DeepEqual(*p, tc.rec.Person) || !reflect.DeepEqual(*tp, tc.tp) {
					t.Errorf("PermitHolder(%d, %s) = %+v, %+v, %v", tc.rec.Person.ID, tc.tp.Number, p, tp, err)
				}
				p, tp, err = tx.LockPermitHolder(ctx, tc.tp.Type, tc.tp.Number)
				if err != nil || !reflect.DeepEqual(*p, tc.rec.Person) || !reflect.DeepEqual(*tp, tc.tp) {
					t.Errorf("LockPermitHolder(%s) = %+v, %+v, %v", tc.tp.Number, p, tp, err)
				}
			}
			_, _, err := tx.PermitHolder(ctx, b.Person.ID, a.TravelPermits[0].Type, a.TravelPermits[0].Number)
			wantCode(t, "PermitHolder of someone else's permit", err, permit.ECodeNotFound)
			_, _, err = tx.PermitHolder(ctx, a.Person.ID, permit.HKHomeReturnPermit, "H99999999")
			wantCode(t, "PermitHolder of an unknown permit", err, permit.ECodeNotFound)
			_, _, err = tx.LockPermitHolder(ctx, permit.MOHomeReturnPermit, a.TravelPermits[0].Number)
			wantCode(t, "LockPermitHolder of an unknown permit", err, permit.ECodeNotFound)
			return nil
		})
	})
}

func TestEachRecord(t *testing.T) {
	const people = 1203 // more than two pages of 500
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		want := map[int64]*permit.Record{}
		update(t, db, func(tx *store.Tx) error {
			for i := range people {
				p := hkPerson(i)
				p.LatinName = fmt.Sprintf("CHAN, PERSON %c%c", 'A'+i%26, 'A'+i/26%26)
				tps := []permit.TravelPermit{hkPermit(10000000 + i)}
				if i%3 == 0 { // some hold a second card
					tw := hkPermit(20000000 + i)
					tw.Type, tw.Number = permit.TWTravelPermit, fmt.Sprintf("%08d", 20000000+i)
					tps = append(tps, tw)
				}
				var rp *permit.ResidencePermit
				if i%2 == 0 {
					rp = residence(fmt.Sprintf("8100001990051%05d", i))
				}
				if err := saveRecord(tx, p, rp, tps...); err != nil {
					return err
				}
				want[p.ID] = &permit.Record{Person: *p, TravelPermits: tps, ResidencePermit: rp}
			}
			return nil
		})
		if n, err := db.CountPersons(ctx); err != nil || n != people {
			t.Fatalf("CountPersons = %d, %v; want %d", n, err, people)
		}

		seen := map[int64]bool{}
		var last int64
		err := db.EachRecord(ctx, func(rec *permit.Record) error {
			id := rec.Person.ID
			if id <= last {
				t.Errorf("EachRecord: id %d after %d, want ascending ids", id, last)
			}
			last = id
			if seen[id] {
				t.Errorf("EachRecord: person %d seen twice", id)
			}
			seen[id] = true
			if w, ok := want[id]; !ok {
				t.Errorf("EachRecord: unknown person %d", id)
			} else if !reflect.DeepEqual(rec, w) {
				t.Errorf("EachRecord: person %d:\n got %+v\nwant %+v", id, rec, w)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("EachRecord: %v", err)
		}
		if len(seen) != people {
			t.Errorf("EachRecord streamed %d records, want %d", len(seen), people)
		}

		// An error from fn stops the walk and is returned as is.
		calls := 0
		err = db.EachRecord(ctx, func(*permit.Record) error {
			calls++
			if calls == 501 {
				return errBoom
			}
			return nil
		})
		if !errors.Is(err, errBoom) || calls != 501 {
			t.Errorf("EachRecord stopped by fn after %d calls with %v; want 501 calls and errBoom", calls, err)
		}
	})
}

func TestEachRecordEmpty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		err := db.EachRecord(ctx, func(rec *permit.Record) error {
			t.Errorf("EachRecord on an empty registry called fn with %+v", rec)
			return nil
		})
		if err != nil {
			t.Errorf("EachRecord on an empty registry: %v", err)
		}
		// Exactly one page: the walk must end without an empty extra call.
		update(t, db, func(tx *store.Tx) error {
			for i := range 500 {
				if err := saveRecord(tx, hkPerson(i), nil, hkPermit(i)); err != nil {
					return err
				}
			}
			return nil
		})
		n := 0
		if err := db.EachRecord(ctx, func(*permit.Record) error { n++; return nil }); err != nil || n != 500 {
			t.Errorf("EachRecord over exactly one page = %d records, %v; want 500", n, err)
		}
	})
}

// Holders takes any number of permits: past what one statement binds (here
// SQLite's 32,766 parameters; PostgreSQL's is 65,535), it asks in parts.
func TestHoldersManyNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rec := addRecord(t, db, hkPerson(1), residence("810000199005170039"), hkPermit(1))
		tps := make([]permit.TravelPermit, 33_000)
		rps := make([]string, 33_000)
		for i := range tps {
			tps[i] = hkPermit(20_000_000 + i) // none on file
			rps[i] = fmt.Sprintf("8100001990%08d", i)
		}
		tps[len(tps)-1], rps[len(rps)-1] = rec.TravelPermits[0], rec.ResidencePermit.Number
		view(t, db, func(tx *store.Tx) error {
			permits, residents, err := tx.Holders(ctx, tps, rps)
			if err != nil {
				return err
			}
			if len(permits) != 1 || permits[rec.TravelPermits[0].Key()] != rec.Person.ID ||
				len(residents) != 1 || residents[rec.ResidencePermit.Number] != rec.Person.ID {
				t.Errorf("Holders = %v, %v; want only person %d's permits", permits, residents, rec.Person.ID)
			}
			return nil
		})
	})
}
