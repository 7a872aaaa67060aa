package authority_test

import (
	"bytes"
	"testing"
	"time"

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
// supersession, audit, one transaction) with a bare store transaction that
// writes one row, on SQLite: the issue's goal is Bare/Issue ≥ 0.5 in
// throughput. Issuance goes round a population, as real traffic does; the
// monthly quota is lifted so that every round issues.
//
// Issue and BareTx time each alone; Ratio alternates one of each on the
// same database, so that both meet the same disk, WAL size and checkpoints,
// and reports bare-tx time ÷ issue time (the throughput ratio) itself.
func BenchmarkIssue(b *testing.B) {
	policy := permit.DefaultPolicy()
	kp := policy.Kinds[permit.TemporaryEPermit]
	kp.MonthlyQuota = 0
	policy.Kinds[permit.TemporaryEPermit] = kp
	db := storetest.Open(b, store.SQLite)
	f := newFixtureN(b, db, authority.Config{Policy: policy}, 5000)
	var eligible []permit.TravelPermit
	for _, r := range f.recs {
		if tp := r.TravelPermits[0]; tp.Status != permit.StatusCancelled && !tp.Expired(f.clock.now()) {
			eligible = append(eligible, tp)
		}
	}
	holder := &newDevice(b).key.PublicKey
	i := 0
	issue := func(b *testing.B) {
		tp := eligible[i%len(eligible)]
		i++
		if _, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, holder); err != nil {
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
	b.Run("Ratio", func(b *testing.B) {
		var tIssue, tBare time.Duration
		for b.Loop() {
			t0 := time.Now()
			issue(b)
			t1 := time.Now()
			bare(b)
			tIssue, tBare = tIssue+t1.Sub(t0), tBare+time.Since(t1)
		}
		n := float64(b.N)
		b.ReportMetric(float64(tIssue.Microseconds())/n, "issue-µs/op")
		b.ReportMetric(float64(tBare.Microseconds())/n, "bare-µs/op")
		b.ReportMetric(tBare.Seconds()/tIssue.Seconds(), "bare/issue")
	})
}
