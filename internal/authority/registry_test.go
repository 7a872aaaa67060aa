package authority_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestImportAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAuthority(t, db)
		recs := demo.Registry(50)
		bad := recs[7]
		bad.TravelPermits = append([]permit.TravelPermit(nil), bad.TravelPermits...)
		bad.TravelPermits[0].ExpiresOn = bad.TravelPermits[0].IssuedOn // expiry not after issue
		file := registryFile(t, append(append(recs[:7:7], bad), recs[8:]...))
		_, err := a.ImportRegistry(ctx, bytes.NewReader(file), "test")
		var re *registry.Error
		if !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Line != 8 {
			t.Fatalf("import = %v, want one problem on line 8", err)
		}
		if n, _ := a.RegistrySize(ctx); n != 0 {
			t.Fatalf("%d people imported from a file with an invalid line", n)
		}
		if n, _ := a.VerifyAudit(ctx); n != 0 {
			t.Fatalf("%d audit events for a refused import", n)
		}
	})
}

// Conflicts that only the store can see refuse the whole file.
func TestImportConflictsWithStore(t *testing.T) {
	recs := demo.Registry(40)
	chan0 := recs[0] // Hong Kong, with a residence permit
	var otherHK permit.Record
	for _, r := range recs[1:] {
		if r.Person.Region == permit.RegionHK {
			otherHK = r
			break
		}
	}
	// A "new" person (unknown permit number) claiming chan0's residence permit.
	claimant := chan0
	claimant.TravelPermits = []permit.TravelPermit{chan0.TravelPermits[0]}
	claimant.TravelPermits[0].Number = "H99999999"
	// One record naming permits of two different people on file.
	merged := chan0
	merged.TravelPermits = []permit.TravelPermit{chan0.TravelPermits[0], otherHK.TravelPermits[0]}

	for _, tc := range []struct {
		name  string
		rec   permit.Record
		field string
	}{
		{"residence permit taken", claimant, "residence_permit.number"},
		{"permits of two people", merged, "travel_permits[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				a := newAuthority(t, db)
				if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, recs[:30])), "first"); err != nil {
					t.Fatal(err)
				}
				events, _ := a.VerifyAudit(ctx)
				file := registryFile(t, []permit.Record{recs[30], tc.rec, recs[31]})
				_, err := a.ImportRegistry(ctx, bytes.NewReader(file), "second")
				var re *registry.Error
				if !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Line != 2 ||
					re.Problems[0].Code != "conflict" || re.Problems[0].Field != tc.field {
					t.Fatalf("import = %v, want one conflict on line 2 at %s", err, tc.field)
				}
				if n, _ := a.RegistrySize(ctx); n != 30 {
					t.Fatalf("registry has %d people after a refused import, want 30", n)
				}
				if n, _ := a.VerifyAudit(ctx); n != events {
					t.Fatalf("refused import left %d audit events", n-events)
				}
			})
		})
	}
}

func TestImportIdempotentAndReissue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAuthority(t, db)
		recs := demo.Registry(30)
		file := registryFile(t, recs)
		rep, err := a.ImportRegistry(ctx, bytes.NewReader(file), "first")
		if err != nil || rep.Created != 30 {
			t.Fatalf("first import = %+v, %v", rep, err)
		}
		events, _ := a.VerifyAudit(ctx)
		rep, err = a.ImportRegistry(ctx, bytes.NewReader(file), "again")
		if err != nil || rep.Unchanged != 30 || rep.Created+rep.Updated != 0 {
			t.Fatalf("re-import = %+v, %v; want 30 unchanged", rep, err)
		}
		if n, _ := a.VerifyAudit(ctx); n != events+1 {
			t.Fatalf("re-import wrote %d audit events, want 1 (the import itself)", n-events)
		}

		// The card is reissued: a higher renewal count, new dates.
		re := recs[5]
		tp := re.TravelPermits[0]
		tp.Renewal++
		tp.IssuedOn, tp.ExpiresOn = tp.ExpiresOn.AddDays(-30), tp.ExpiresOn.AddDays(3650)
		re.TravelPermits = []permit.TravelPermit{tp}
		rep, err = a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{re})), "reissue")
		if err != nil || rep.Updated != 1 {
			t.Fatalf("reissue import = %+v, %v", rep, err)
		}
		got, err := a.Record(ctx, tp.Type, tp.Number)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.TravelPermits) != 1 || got.TravelPermits[0] != tp {
			t.Fatalf("after reissue the registry holds %+v, want %+v", got.TravelPermits, tp)
		}
		if n, _ := a.RegistrySize(ctx); n != 30 {
			t.Fatalf("reissue created a person: %d people", n)
		}

		// The old card again: stale, refused.
		_, err = a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, recs[5:6])), "stale")
		var rerr *registry.Error
		if !errors.As(err, &rerr) || rerr.Problems[0].Code != "stale" {
			t.Fatalf("stale import = %v, want code stale", err)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAuthority(t, db)
		file := registryFile(t, demo.Registry(700)) // more than one export page
		if _, err := a.ImportRegistry(ctx, bytes.NewReader(file), "test"); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		n, err := a.ExportRegistry(ctx, &out)
		if err != nil || n != 700 {
			t.Fatalf("export = %d, %v", n, err)
		}
		if !bytes.Equal(out.Bytes(), file) {
			t.Fatal("export differs from the imported file")
		}
		// And into an empty store of the other engine's kind: same bytes.
		b := newAuthority(t, storetest.Open(t, store.SQLite))
		if _, err := b.ImportRegistry(ctx, bytes.NewReader(out.Bytes()), "export"); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		b.ExportRegistry(ctx, &again)
		if !bytes.Equal(again.Bytes(), file) {
			t.Fatal("second round trip differs")
		}
	})
}

// A file whose records hold 120 cards each: every line is valid and far
// under MaxLineSize; a chunk's 12,000 numbers are looked up in more than one
// statement, and such a record is created a row at a time on PostgreSQL.
func TestImportManyPermitsPerRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, err := authority.New(db, nil, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs := demo.Registry(100)
		n := 0
		for i := range recs {
			tp := recs[i].TravelPermits[0]
			for range 120 {
				tp.Number = map[string]string{"hk": "H", "mo": "M", "tw": ""}[tp.Type.String()] + fmt.Sprintf("%08d", 50000000+n)
				n++
				recs[i].TravelPermits = append(recs[i].TravelPermits, tp)
			}
		}
		file := registryFile(t, recs)
		t.Logf("file %d bytes, %d permits", len(file), n)
		if _, err := a.ImportRegistry(ctx, bytes.NewReader(file), "test"); err != nil {
			t.Errorf("import: %v", err)
		}
	})
}
