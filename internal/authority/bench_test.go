package authority_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// BenchmarkImportRegistry imports a 100,000-record registry file into an
// empty store: one op is the whole file (run with -benchtime=1x or 3x).
func BenchmarkImportRegistry(b *testing.B) {
	file := registryFile(b, demo.Registry(100_000))
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				a := newAuthority(b, storetest.Open(b, engine))
				b.StartTimer()
				rep, err := a.ImportRegistry(ctx, bytes.NewReader(file), "bench")
				if err != nil || rep.Created != 100_000 {
					b.Fatalf("import = %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkIssue compares a counter issuance (rules, status entry, signing,
// audit, one transaction) with a bare store transaction that writes one
// row, on SQLite: the issue's goal is Bare/Issue ≥ 0.5 in throughput.
// The monthly quota is lifted so that every round issues.
//
// Issue and BareTx time each alone. The Ratio benchmarks alternate one of
// each on the same database, so that both meet the same disk, WAL size and
// checkpoints, and report bare-tx time ÷ issue time (the throughput ratio):
//   - Ratio: the usual issuance. It goes round the population with the
//     clock moving on, so that each person's last e-permit has expired when
//     their turn comes again.
//   - RatioSupersede: every issuance supersedes (revokes and audits) the
//     person's current e-permit.
//   - RatioWrites: an issuance's store writes alone (application, status
//     entry, credential with a token signed beforehand, audit event),
//     without the reads, rules and signing: the floor the schema sets.
func BenchmarkIssue(b *testing.B) {
	policy := permit.DefaultPolicy()
	db := storetest.Open(b, store.SQLite)
	f := newFixtureN(b, db, authority.Config{Policy: policy}, 5000)
	var eligible []permit.TravelPermit
	for _, r := range f.recs {
		// Valid well past the weeks the moving clock covers.
		if tp := r.TravelPermits[0]; tp.Status != permit.StatusCancelled && !tp.Expired(f.clock.now().AddDate(0, 6, 0)) {
			eligible = append(eligible, tp)
		}
	}
	holder := &newDevice(b).key.PublicKey
	var last *permit.Credential
	issueTo := func(b *testing.B, tp permit.TravelPermit) {
		var err error
		if last, err = f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, holder); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	step := (7*24*time.Hour + time.Second) / time.Duration(len(eligible))
	issue := func(b *testing.B) {
		f.clock.add(step)
		issueTo(b, eligible[i%len(eligible)])
		i++
	}
	j := 0
	supersede := func(b *testing.B) {
		issueTo(b, eligible[j%100]) // 100 people, each with a current e-permit after the first round
		j++
	}
	writes := func(b *testing.B) {
		tp := eligible[i%len(eligible)]
		i++
		err := db.Update(ctx, func(tx *store.Tx) error {
			person, err := tx.PersonIDByPermit(ctx, tp.Type, tp.Number)
			if err != nil {
				return err
			}
			app := &permit.Application{PersonID: person, Kind: last.Kind, DocumentType: tp.Type, DocumentNumber: tp.Number,
				Reason: int(permit.ReasonLost), Month: permit.Month(tx.Now()), CreatedAt: tx.Now(), Channel: permit.ChannelCounter}
			if err := tx.AddApplication(ctx, app); err != nil {
				return err
			}
			c := *last
			c.ID, c.PersonID, c.ApplicationID = make([]byte, 16), person, app.ID
			rand.Read(c.ID)
			if c.StatusList, c.StatusIndex, err = tx.AllocateStatus(ctx, f.a.Config().StatusListSize); err != nil {
				return err
			}
			if err := tx.AddCredential(ctx, &c); err != nil {
				return err
			}
			return tx.Audit(ctx, audit.Event{Actor: "bench", Action: "credential.issue", Subject: fmt.Sprintf("cti:%x", c.ID),
				Details: []byte(`{"kind":1,"channel":"counter","reason":"lost"}`)})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	bare := func(b *testing.B) {
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddAttempt(ctx, "bench") }); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Issue", func(b *testing.B) {
		for b.Loop() {
			issue(b)
		}
	})
	b.Run("BareTx", func(b *testing.B) {
		for b.Loop() {
			bare(b)
		}
	})
	ratio := func(op func(*testing.B)) func(*testing.B) {
		return func(b *testing.B) {
			var tOp, tBare time.Duration
			for b.Loop() {
				t0 := time.Now()
				op(b)
				t1 := time.Now()
				bare(b)
				tOp, tBare = tOp+t1.Sub(t0), tBare+time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(tOp.Microseconds())/n, "issue-µs/op")
			b.ReportMetric(float64(tBare.Microseconds())/n, "bare-µs/op")
			b.ReportMetric(tBare.Seconds()/tOp.Seconds(), "bare/issue")
		}
	}
	b.Run("Ratio", ratio(issue))
	for range 100 {
		supersede(b) // the first round only gives each person a current e-permit
	}
	b.Run("RatioSupersede", ratio(supersede))
	b.Run("RatioWrites", ratio(writes))
}
