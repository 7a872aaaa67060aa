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

// issueInParallel runs round issuing transactions (status entry,
// credential, audit event, commit) from clients goroutines at once on db,
// and returns how long they took.
func issueInParallel(b *testing.B, db *store.DB, clients, round int, person int64, kid string) time.Duration {
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

// BenchmarkIssueParallel is 32 concurrent issuing transactions on
// PostgreSQL (status entry, credential, audit event, commit), each way
// alternated with the way before it in rounds of 320 transactions; it
// reports each way's transactions per second and their ratio.
//   - StatusBlocks: status list room reserved in blocks, against counted
//     in each transaction, which holds the list's counter row to commit.
//   - AuditHead: the last audit events and the chain's new head written
//     in one statement, against in two.
func BenchmarkIssueParallel(b *testing.B) {
	db := storetest.Open(b, store.Postgres)
	kid := addKey(b, db, "kid-1").Kid
	person := addRecord(b, db, hkPerson(1), nil, hkPermit(1)).Person.ID
	const clients, round = 32, 320
	compare := func(name string, before func() (restore func())) {
		b.Run(name, func(b *testing.B) {
			var tNew, tOld time.Duration
			for b.Loop() {
				tNew += issueInParallel(b, db, clients, round, person, kid)
				restore := before()
				tOld += issueInParallel(b, db, clients, round, person, kid)
				restore()
			}
			n := float64(b.N * round)
			b.ReportMetric(n/tNew.Seconds(), "new-tx/s")
			b.ReportMetric(n/tOld.Seconds(), "old-tx/s")
			b.ReportMetric(tOld.Seconds()/tNew.Seconds(), "new/old")
		})
	}
	compare("StatusBlocks", func() func() { return db.CountStatusInTx(true) })
	compare("AuditHead", func() func() { return db.AuditHeadApart(true) })
}
