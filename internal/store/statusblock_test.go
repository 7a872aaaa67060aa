package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
)

// BenchmarkAllocateStatusParallel is 32 concurrent issuing transactions on
// PostgreSQL (status entry, credential, audit event, commit), with status
// list room reserved in blocks and, alternated with it in rounds of 320
// transactions, counted in each transaction, which holds the list's
// counter row to its commit. It reports each mode's transactions per
// second and their ratio.
func BenchmarkAllocateStatusParallel(b *testing.B) {
	db := storetest.Open(b, store.Postgres)
	kid := addKey(b, db, "kid-1").Kid
	person := addRecord(b, db, hkPerson(1), nil, hkPermit(1)).Person.ID
	const clients, round = 32, 320
	run := func(b *testing.B) time.Duration {
		var wg sync.WaitGroup
		t0 := time.Now()
		for range clients {
			wg.Go(func() {
				for range round / clients {
					err := db.Update(ctx, func(tx *store.Tx) error {
						list, idx, err := tx.AllocateStatus(ctx, 1<<20)
						if err != nil {
							return err
						}
						c := newCredential(person, kid, t0)
						c.StatusList, c.StatusIndex = list, idx
						if err := tx.AddCredential(ctx, c); err != nil {
							return err
						}
						return tx.Audit(ctx, audit.Event{Actor: "bench", Action: "credential.issue", Subject: fmt.Sprintf("cti:%x", c.ID)})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(t0)
	}
	var tBlocks, tCount time.Duration
	for b.Loop() {
		tBlocks += run(b)
		restore := db.CountStatusInTx(true)
		tCount += run(b)
		restore()
	}
	n := float64(b.N * round)
	b.ReportMetric(n/tBlocks.Seconds(), "blocks-tx/s")
	b.ReportMetric(n/tCount.Seconds(), "count-tx/s")
	b.ReportMetric(tCount.Seconds()/tBlocks.Seconds(), "blocks/count")
}
