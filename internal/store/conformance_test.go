// The storage conformance suite: every test runs through storetest.Each, so
// SQLite and PostgreSQL are held to exactly the same behaviour. The tests are
// split by area: registry_test.go (persons, permits, EachRecord),
// keys_test.go (issuer keys), credential_test.go (applications, credentials,
// status lists), audit_test.go (the audit log and atomicity); this file has
// the shared fixtures and the migration tests.
package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

var ctx = context.Background()

// update runs fn in one db.Update and fails the test on error.
func update(t testing.TB, db *store.DB, fn func(*store.Tx) error) {
	t.Helper()
	if err := db.Update(ctx, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in one db.View and fails the test on error.
func view(t testing.TB, db *store.DB, fn func(*store.Tx) error) {
	t.Helper()
	if err := db.View(ctx, fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// wantCode checks that err carries the domain error code.
func wantCode(t testing.TB, what string, err error, code permit.Code) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, code)
	} else if got := permit.ErrorCode(err); got != code {
		t.Errorf("%s: error %q has code %s, want %s", what, err, got, code)
	}
}

// portrait returns a small, valid PNG image that differs with seed.
func portrait(seed int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.NRGBA{uint8(seed), uint8(seed >> 8), uint8(seed >> 16), 0xff})
	img.Set(1, 1, color.NRGBA{0, 0, 0, 0}) // a zero byte run in the data too
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	if !permit.IsImage(b.Bytes()) {
		panic("portrait is not a PNG")
	}
	return b.Bytes()
}

// hkPerson returns a Hong Kong resident with every field set.
func hkPerson(seed int) *permit.Person {
	return &permit.Person{
		Name:      "陳大文",
		LatinName: "CHAN, TAI MAN",
		Sex:       permit.Male,
		BirthDate: permit.Date{Year: 1990, Month: time.May, Day: 17},
		Region:    permit.RegionHK,
		Phone:     "+85291234567",
		Portrait:  portrait(seed),
	}
}

// hkPermit returns a valid Home Return Permit with lifetime number H + 8 digits.
func hkPermit(n int) permit.TravelPermit {
	return permit.TravelPermit{
		Type:      permit.HKHomeReturnPermit,
		Number:    fmt.Sprintf("H%08d", n),
		Renewal:   0,
		IssuedOn:  permit.Date{Year: 2020, Month: time.March, Day: 1},
		ExpiresOn: permit.Date{Year: 2030, Month: time.February, Day: 28},
		Status:    permit.StatusValid,
	}
}

// residence returns a residence permit with number n (not checked by the store).
func residence(n string) *permit.ResidencePermit {
	return &permit.ResidencePermit{
		Number:    n,
		IssuedOn:  permit.Date{Year: 2021, Month: time.January, Day: 4},
		ExpiresOn: permit.Date{Year: 2026, Month: time.January, Day: 3},
		Status:    permit.StatusValid,
	}
}

// addRecord saves a person with their permits in one Update and returns the
// record as it should read back.
func addRecord(t testing.TB, db *store.DB, p *permit.Person, rp *permit.ResidencePermit, tps ...permit.TravelPermit) *permit.Record {
	t.Helper()
	update(t, db, func(tx *store.Tx) error { return saveRecord(tx, p, rp, tps...) })
	return &permit.Record{Person: *p, TravelPermits: tps, ResidencePermit: rp}
}

func saveRecord(tx *store.Tx, p *permit.Person, rp *permit.ResidencePermit, tps ...permit.TravelPermit) error {
	rec := &permit.Record{Person: *p, TravelPermits: tps, ResidencePermit: rp}
	err := tx.CreateRecord(ctx, rec)
	p.ID = rec.Person.ID
	return err
}

// record reads a person's record, failing the test on error.
func record(t testing.TB, db *store.DB, id int64) *permit.Record {
	t.Helper()
	var rec *permit.Record
	view(t, db, func(tx *store.Tx) (err error) {
		rec, err = tx.Record(ctx, id)
		return err
	})
	return rec
}

func wantRecord(t testing.TB, what string, got, want *permit.Record) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// fixedClock sets db's clock to a fixed instant and returns it.
func fixedClock(db *store.DB, at time.Time) time.Time {
	db.SetClock(func() time.Time { return at })
	return at
}

// t0 is a whole-second instant: the store keeps most times in Unix seconds.
var t0 = time.Date(2026, time.November, 20, 9, 30, 0, 0, time.UTC)

// migrationFiles lists the migration files of an engine as they are on disk
// (and embedded), in version order.
func migrationFiles(t testing.TB, e store.Engine) (names []string, newest int) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("migrations", string(e), "*.sql"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no migrations for %s: %v", e, err)
	}
	for _, p := range paths { // Glob sorts; names are zero-padded
		name := filepath.Base(p)
		names = append(names, name)
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("migration %s: %v", name, err)
		}
		newest = max(newest, v)
	}
	return names, newest
}

func TestMigrate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		names, newest := migrationFiles(t, db.Engine())
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != newest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, newest)
		}
		for i := range 2 {
			applied, err := db.Migrate(ctx)
			if err != nil || len(applied) != 0 {
				t.Errorf("Migrate #%d on a migrated database = %v, %v; want nothing applied", i+2, applied, err)
			}
		}
		if v, err := db.SchemaVersion(ctx); err != nil || v != newest {
			t.Errorf("SchemaVersion after re-migrating = %d, %v; want %d", v, err, newest)
		}

		// A fresh database: version 0, then every migration in order.
		fresh, err := store.Open(ctx, storetest.DSN(t, db.Engine()))
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if v, err := fresh.SchemaVersion(ctx); err != nil || v != 0 {
			t.Errorf("SchemaVersion of an empty database = %d, %v; want 0", v, err)
		}
		applied, err := fresh.Migrate(ctx)
		if err != nil || !reflect.DeepEqual(applied, names) {
			t.Errorf("Migrate on an empty database = %v, %v; want %v", applied, err, names)
		}
		if v, err := fresh.SchemaVersion(ctx); err != nil || v != newest {
			t.Errorf("SchemaVersion after migrating = %d, %v; want %d", v, err, newest)
		}
	})
}

// Several replicas may start at once and migrate the same database.
func TestMigrateConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dsn := storetest.DSN(t, db.Engine())
		_, newest := migrationFiles(t, db.Engine())
		const replicas = 4
		errs := make(chan error, replicas)
		total := make(chan int, replicas)
		for range replicas {
			go func() {
				r, err := store.Open(ctx, dsn)
				if err != nil {
					errs <- err
					return
				}
				defer r.Close()
				applied, err := r.Migrate(ctx)
				total <- len(applied)
				errs <- err
			}()
		}
		n := 0
		for range replicas {
			if err := <-errs; err != nil {
				t.Errorf("concurrent Migrate: %v", err)
			}
		}
		close(total)
		for k := range total {
			n += k
		}
		if names, _ := migrationFiles(t, db.Engine()); n != len(names) {
			t.Errorf("replicas applied %d migrations in all, want %d (each exactly once)", n, len(names))
		}
		r, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if v, err := r.SchemaVersion(ctx); err != nil || v != newest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, newest)
		}
	})
}

// errBoom is what test transactions return to make Update roll back.
var errBoom = errors.New("boom")
