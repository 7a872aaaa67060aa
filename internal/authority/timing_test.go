package authority_test

import (
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// A proofing start must not tell by its timing whether a document number
// is on file: wrong details for an existing permit and an unknown permit
// do the same work. The record on file has the largest portrait allowed,
// so reading the whole record on one path only would show. Requests
// alternate between the two paths and their medians are compared with a
// bound generous enough for a loaded machine: 3x plus 2 ms. The medians
// are logged.
func TestProofingStartTimingDoesNotRevealDocuments(t *testing.T) {
	const n = 150
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		rec := f.recs[0]
		big := make([]byte, permit.MaxPortraitSize)
		rand.Read(big) // incompressible, as a photo is
		copy(big, "\x89PNG\r\n\x1a\n")
		rec.Person.Portrait = big
		f.reimport(t, rec)

		existing := startFor(rec)
		existing.Name = "NOT THE NAME"
		unknown := startFor(rec)
		unknown.DocumentNumber = "H99999999"
		var times [2][]time.Duration
		for i := range 2 * n {
			in := [2]authority.ProofingStart{existing, unknown}[i%2]
			in.Client = fmt.Sprintf("client-%d", i)
			f.clock.add(16 * time.Minute) // past the attempt window: never rate-limited
			start := time.Now()
			_, err := f.a.StartProofing(ctx, in)
			d := time.Since(start)
			if permit.ErrorCode(err) != permit.ECodeDetailsMismatch {
				t.Fatalf("start %d: %v, want details_mismatch", i, err)
			}
			if i >= 10 { // warm-up
				times[i%2] = append(times[i%2], d)
			}
		}
		median := func(ds []time.Duration) time.Duration {
			slices.Sort(ds)
			return ds[len(ds)/2]
		}
		e, u := median(times[0]), median(times[1])
		t.Logf("%s: median proofing start, existing permit %v, unknown permit %v (%d each)", db.Engine(), e, u, len(times[0]))
		const slack = 2 * time.Millisecond
		if e > 3*u+slack || u > 3*e+slack {
			t.Errorf("existing permit %v vs unknown permit %v: the paths do different work", e, u)
		}
	})
}

// The deterministic half of the timing test: every refusal runs the same
// statements, whether the permit is on file or not.
func TestProofingStartSameWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		rec := f.recs[0]
		wrongName, wrongBirth, unknown := startFor(rec), startFor(rec), startFor(rec)
		wrongName.Name = "NOT THE NAME"
		wrongBirth.BirthDate = permit.Date{Year: 1901, Month: 1, Day: 1}
		unknown.DocumentNumber = "H99999999"
		counts := map[string]int64{}
		for i, tc := range []struct {
			name string
			in   authority.ProofingStart
		}{{"wrong name", wrongName}, {"wrong birth date", wrongBirth}, {"unknown permit", unknown}} {
			tc.in.Client = fmt.Sprintf("client-%d", i)
			f.clock.add(16 * time.Minute)
			before := db.Statements()
			if _, err := f.a.StartProofing(ctx, tc.in); permit.ErrorCode(err) != permit.ECodeDetailsMismatch {
				t.Fatalf("%s: %v", tc.name, err)
			}
			counts[tc.name] = db.Statements() - before
		}
		if counts["wrong name"] != counts["unknown permit"] || counts["wrong birth date"] != counts["unknown permit"] {
			t.Errorf("statements run: %v; want the same for every refusal", counts)
		}
	})
}
