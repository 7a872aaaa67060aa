package authority_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// linkageChecks is a fixture's institution and a set of checks, linked or
// not, to run over and over.
func linkageChecks(t testing.TB, f *fixture) (*permit.Client, []authority.LinkageCheck) {
	t.Helper()
	bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "Bank of Somewhere", "bank")
	if err != nil {
		t.Fatal(err)
	}
	var qs []authority.LinkageCheck
	for i, r := range f.recs {
		if r.ResidencePermit == nil {
			continue
		}
		// Each person's own permits, and the next person's residence permit.
		other := f.recs[(i+1)%len(f.recs)].ResidencePermit
		for _, rp := range []*permit.ResidencePermit{r.ResidencePermit, other} {
			if rp != nil {
				qs = append(qs, authority.LinkageCheck{TravelPermitType: r.TravelPermits[0].Type,
					TravelPermitNumber: r.TravelPermits[0].Number, ResidencePermitNumber: rp.Number, Purpose: "KYC"})
			}
		}
	}
	return bank, qs
}

// linkageEvents counts the linkage.check events in the audit log.
func linkageEvents(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := storetest.SQL(t, db).QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'linkage.check'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Concurrent checks share commits: every check has exactly its own event,
// with its institution and answer, the chain verifies, and some commits
// held more than one event.
func TestCheckLinkageGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		authority.SetLinkageGroupCommit(f.a, true) // production groups on SQLite only
		bank, qs := linkageChecks(t, f)
		var mu sync.Mutex
		var batches []int
		authority.SetLinkageAuditHook(f.a, func(n int) error {
			mu.Lock()
			batches = append(batches, n)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond) // a slow disk: arrivals queue meanwhile
			return nil
		})
		const goroutines, perGoroutine = 32, 2
		type result struct {
			q   authority.LinkageCheck
			ans *authority.LinkageAnswer
		}
		results := make(chan result, goroutines*perGoroutine)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perGoroutine {
					q := qs[(g*perGoroutine+i)%len(qs)]
					ans, err := f.a.CheckLinkage(ctx, bank, q)
					if err != nil {
						t.Errorf("check: %v", err)
						return
					}
					results <- result{q, ans}
				}
			}()
		}
		wg.Wait()
		close(results)

		n := 0
		for r := range results {
			n++
			rec, err := f.a.LinkageCheckByReference(ctx, r.ans.Reference)
			if err != nil {
				t.Fatalf("%s: %v", r.ans.Reference, err)
			}
			var det map[string]any
			json.Unmarshal(rec.Details, &det)
			if rec.Institution != "Bank of Somewhere" || det["linked"] != r.ans.Linked ||
				det["residence_permit"] != r.q.ResidencePermitNumber || det["travel_permit"] != r.q.TravelPermitType.String()+":"+r.q.TravelPermitNumber {
				t.Errorf("%s: %+v %s for %+v", r.ans.Reference, rec, rec.Details, r.q)
			}
			es, _ := db.AuditEvents(ctx, "linkage:"+r.ans.Reference, 0, 10)
			if len(es) != 1 || es[0].Actor != "institution:Bank of Somewhere" {
				t.Errorf("%s: events %+v", r.ans.Reference, es)
			}
		}
		if want := goroutines * perGoroutine; n != want || linkageEvents(t, db) != want {
			t.Errorf("%d answers, %d events, want %d", n, linkageEvents(t, db), want)
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil {
			t.Errorf("audit chain: %v", err)
		}
		total, largest := 0, 0
		for _, b := range batches {
			total += b
			largest = max(largest, b)
		}
		t.Logf("%d events in %d commits, largest %d", total, len(batches), largest)
		if total != n || largest < 2 || len(batches) >= n {
			t.Errorf("batches %v: want %d events in fewer commits, some of several", batches, n)
		}
	})
}

// A failed commit fails every check in its batch, and only those; their
// events are not in the log, and the checks before and after are.
func TestCheckLinkageGroupCommitFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		authority.SetLinkageGroupCommit(f.a, true) // production groups on SQLite only
		bank, qs := linkageChecks(t, f)
		authority.SetLinkageAuditLeaders(f.a, 1) // one batch at a time: the second holds all that queued
		broken := errors.New("disk full")
		var mu sync.Mutex
		var batches []int
		firstIn := make(chan struct{})
		release := make(chan struct{})
		authority.SetLinkageAuditHook(f.a, func(n int) error {
			mu.Lock()
			batches = append(batches, n)
			k := len(batches)
			mu.Unlock()
			switch k {
			case 1:
				close(firstIn)
				<-release // the others queue behind the first commit
			case 2:
				return broken
			}
			return nil
		})
		const others = 16
		errs := make(chan error, others+1)
		go func() { _, err := f.a.CheckLinkage(ctx, bank, qs[0]); errs <- err }()
		<-firstIn
		for i := range others {
			go func() { _, err := f.a.CheckLinkage(ctx, bank, qs[(i+1)%len(qs)]); errs <- err }()
		}
		waitQueued(t, f.a, others)
		close(release)
		failed := 0
		for range others + 1 {
			if err := <-errs; errors.Is(err, broken) {
				failed++
			} else if err != nil {
				t.Errorf("check: %v", err)
			}
		}
		// The first commit held the first check; the second, all the others.
		if len(batches) != 2 || batches[1] != others || failed != others {
			t.Errorf("batches %v, %d checks failed: want [1 %d], all %d failed", batches, others, others, others)
		}
		if got := linkageEvents(t, db); got != 1 {
			t.Errorf("%d linkage events, want 1", got)
		}
		// The batcher recovers: the next check is answered and audited.
		if _, err := f.a.CheckLinkage(ctx, bank, qs[0]); err != nil {
			t.Errorf("after a failed batch: %v", err)
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil || linkageEvents(t, db) != 2 {
			t.Errorf("audit chain: %v, %d events", err, linkageEvents(t, db))
		}
	})
}

// A check whose context ends while its event waits for a batch returns the
// context's error and its event is dropped; the queue carries on.
func TestCheckLinkageGroupCommitCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		authority.SetLinkageGroupCommit(f.a, true) // production groups on SQLite only
		bank, qs := linkageChecks(t, f)
		authority.SetLinkageAuditLeaders(f.a, 1) // one batch at a time: later checks queue
		var calls int
		firstIn := make(chan struct{})
		release := make(chan struct{})
		var batches []int
		authority.SetLinkageAuditHook(f.a, func(n int) error {
			calls++ // batches run one at a time
			batches = append(batches, n)
			if calls == 1 {
				close(firstIn)
				<-release
			}
			return nil
		})
		type out struct {
			ans *authority.LinkageAnswer
			err error
		}
		first, cancelled, last := make(chan out, 1), make(chan out, 1), make(chan out, 1)
		check := func(ctx context.Context, c chan out) {
			ans, err := f.a.CheckLinkage(ctx, bank, qs[0])
			c <- out{ans, err}
		}
		go check(ctx, first)
		<-firstIn
		cctx, cancel := context.WithCancel(ctx)
		go check(cctx, cancelled) // first in the queue: would lead the next batch
		waitQueued(t, f.a, 1)
		go check(ctx, last)
		waitQueued(t, f.a, 2)
		cancel()
		if o := <-cancelled; !errors.Is(o.err, context.Canceled) {
			t.Errorf("cancelled check: %+v", o)
		}
		close(release)
		for _, c := range []chan out{first, last} {
			if o := <-c; o.err != nil {
				t.Errorf("check: %v", o.err)
			}
		}
		if got := linkageEvents(t, db); got != 2 || len(batches) != 2 {
			t.Errorf("%d linkage events in batches %v, want 2 in [1 1]", got, batches)
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}

func waitQueued(t *testing.T, a *authority.Authority, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); authority.LinkageAuditQueued(a) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d checks queued, want %d", authority.LinkageAuditQueued(a), n)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkCheckLinkageParallel: 32 concurrent checks, each audited and
// durable, one write transaction per check (OneTx, as before group commit)
// against the read-only transaction and group commit (GroupCommit: two
// batches in flight, the default; GroupCommit1: one). -count repeats each
// in turn, not alternated: run them one by one to alternate.
func BenchmarkCheckLinkageParallel(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			db := storetest.Open(b, engine)
			f := newFixture(b, db, authority.Config{})
			authority.SetLinkageGroupCommit(f.a, true) // production groups on SQLite only
			bank, qs := linkageChecks(b, f)
			for _, v := range []struct {
				name    string
				check   func(context.Context, *permit.Client, authority.LinkageCheck) (*authority.LinkageAnswer, error)
				leaders int
			}{{"OneTx", f.a.CheckLinkageOneTx, 0}, {"GroupCommit", f.a.CheckLinkage, 0}, {"GroupCommit1", f.a.CheckLinkage, 1}} {
				b.Run(v.name, func(b *testing.B) {
					authority.SetLinkageAuditLeaders(f.a, v.leaders)
					var commits atomic.Int64
					authority.SetLinkageAuditHook(f.a, func(int) error { commits.Add(1); return nil })
					defer authority.SetLinkageAuditHook(f.a, nil)
					b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					var next sync.Mutex
					i := 0
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							next.Lock()
							q := qs[i%len(qs)]
							i++
							next.Unlock()
							if _, err := v.check(ctx, bank, q); err != nil {
								b.Error(err)
								return
							}
						}
					})
					if v.name != "OneTx" {
						b.ReportMetric(float64(b.N)/float64(commits.Load()), "checks/commit")
					}
				})
			}
		})
	}
}

// Checks whose contexts end at random moments, some queued, some leading,
// some in a batch: every answered check is audited, none twice, nothing
// waits forever, and the batcher ends idle.
func TestCheckLinkageGroupCommitCancelStorm(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		authority.SetLinkageGroupCommit(f.a, true) // production groups on SQLite only
		bank, qs := linkageChecks(t, f)
		authority.SetLinkageAuditHook(f.a, func(int) error { time.Sleep(2 * time.Millisecond); return nil })
		for _, leaders := range []int{1, 2} {
			authority.SetLinkageAuditLeaders(f.a, leaders)
			before := linkageEvents(t, db)
			const n = 96
			var answered, cancelled atomic.Int64 // failed: cancelled
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cctx, cancel := context.WithTimeout(ctx, time.Duration(i%16)*5*time.Millisecond)
					defer cancel()
					_, err := f.a.CheckLinkage(cctx, bank, qs[i%len(qs)])
					switch {
					case err == nil:
						answered.Add(1)
					default:
						// Mostly the batcher's ctx.Err(); also the store's begin,
						// or a PostgreSQL dial given up, as contexts end.
						cancelled.Add(1)
					}
				}()
			}
			wg.Wait()
			got := int64(linkageEvents(t, db) - before)
			t.Logf("%d leaders: %d answered, %d failed, %d events", leaders, answered.Load(), cancelled.Load(), got)
			if got < answered.Load() || got > n {
				t.Errorf("%d leaders: %d events for %d answered of %d", leaders, got, answered.Load(), n)
			}
			if !authority.LinkageAuditIdle(f.a) {
				t.Errorf("%d leaders: the batcher is not idle after all checks returned", leaders)
			}
			if _, err := f.a.CheckLinkage(ctx, bank, qs[0]); err != nil {
				t.Errorf("%d leaders: after the storm: %v", leaders, err)
			}
		}
		if _, err := db.VerifyAudit(ctx, nil); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}
