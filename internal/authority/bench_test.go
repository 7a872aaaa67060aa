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
// row, on SQLite. The default policy is in force: at most 2 applications a
// person a calendar month, so the benchmark spreads its issuances over a
// population of 5,000 and moves the clock on.
//
// Issue and BareTx time each alone. The Ratio benchmarks alternate one of
// each on the same database, so that both meet the same disk, WAL size and
// checkpoints, and report bare-tx time ÷ issue time (the throughput ratio):
//   - Ratio: the usual issuance, which supersedes nothing. It goes round
//     the population once every 16 days of the moving clock, so that each
//     person's last e-permit (7 days) has expired when their turn comes
//     again and no one has a third turn in a calendar month.
//   - RatioSupersede: every issuance supersedes (revokes and audits) the
//     person's current e-permit. Each person is issued twice in a calendar
//     month: first an e-permit outside the timing, then the measured one
//     that supersedes it; when everyone has had both, the clock moves to
//     the next month.
//   - RatioWrites: an issuance's store writes alone (application, status
//     entry, credential with a token signed beforehand, audit event),
//     without the reads, rules and signing: the floor the schema sets.
func BenchmarkIssue(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	f := newFixtureN(b, db, authority.Config{Policy: permit.DefaultPolicy()}, 5000)
	// Travel permits valid well past the months the moving clock covers.
	horizon := f.clock.now().AddDate(0, 6, 0)
	var eligible []permit.TravelPermit
	for _, r := range f.recs {
		if tp := r.TravelPermits[0]; tp.Status != permit.StatusCancelled && !tp.Expired(horizon.AddDate(0, 1, 0)) {
			eligible = append(eligible, tp)
		}
	}
	n := len(eligible)
	checkClock := func(b *testing.B) {
		if f.clock.now().After(horizon) {
			b.Fatalf("the clock ran past %s: the population's permits would expire; use a shorter -benchtime", horizon)
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
	step := 16 * 24 * time.Hour / time.Duration(n)
	issue := func(b *testing.B) {
		f.clock.add(step)
		checkClock(b)
		issueTo(b, eligible[i%n])
		i++
	}
	j := 0
	var primed *permit.Credential
	prime := func(b *testing.B) {
		if j%n == 0 {
			// A new calendar month (China time), in which no one has applied.
			t := f.clock.now().In(permit.ChinaTime)
			f.clock.add(time.Date(t.Year(), t.Month()+1, 1, 12, 0, 0, 0, permit.ChinaTime).Sub(t))
			checkClock(b)
		}
		issueTo(b, eligible[j%n])
		primed = last
	}
	supersede := func(b *testing.B) {
		issueTo(b, eligible[j%n])
		j++
	}
	writes := func(b *testing.B) {
		tp := eligible[i%n]
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
	// ratio alternates op with a bare transaction; prepare, if any, runs
	// before each op outside both timings.
	ratio := func(prepare, op func(*testing.B)) func(*testing.B) {
		return func(b *testing.B) {
			var tOp, tBare time.Duration
			for b.Loop() {
				if prepare != nil {
					prepare(b)
				}
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
	b.Run("Ratio", ratio(nil, issue))
	b.Run("RatioSupersede", ratio(prime, supersede))
	if primed != nil { // RatioSupersede ran: its last issuance superseded the e-permit primed before it
		var c *permit.Credential
		if err := db.View(ctx, func(tx *store.Tx) (err error) { c, err = tx.Credential(ctx, primed.ID); return err }); err != nil {
			b.Fatal(err)
		}
		if c.State != permit.CredentialRevoked {
			b.Fatalf("the primed e-permit is %s after the measured issuance, want revoked (superseded)", c.State)
		}
	}
	b.Run("RatioWrites", ratio(nil, writes))
}
