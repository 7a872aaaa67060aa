package authority

import (
	"context"
	"slices"
	"sync"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
)

// maxAuditBatch bounds the events one group commit writes, so that one
// transaction (and the chain head's lock) stays short under a burst.
const maxAuditBatch = 256

// auditBatcher writes audit events that need no change of their own (the
// linkage check's) many to a transaction: group commit. On SQLite, at 32
// concurrent checks, one durable commit per check is the bottleneck
// (latency is clients ÷ commits per second); one commit for every event
// queued at that moment serves them all. (PostgreSQL already flushes
// concurrent commits together: see docs/performance.md.)
//
// Leaders and followers, with no goroutine of its own: a caller that finds
// fewer than leadersMax flushes running flushes everything queued (up to
// maxAuditBatch) in its own goroutine; callers arriving meanwhile queue,
// and when a flush ends the first of them leads the next. Each caller
// returns only once the transaction holding its event has committed, or
// with that transaction's error, so an answer is never given for a check
// whose audit event is not durable.
//
// Each event keeps its own actor (set by event from the caller's context);
// its time is the batch transaction's start, as tx.Audit stamps it, so a
// check's event is timed at most one flush after the check was answered
// from the registry.
type auditBatcher struct {
	db *store.DB
	// leadersMax is how many batches may be in flight at once (0: 2). With
	// two, the next batch can be gathered and waiting for the writer while
	// the current one commits, rather than the writer idling while the lead
	// passes between goroutines. (Measured against one: no clear difference
	// in throughput, fewer events a commit.)
	leadersMax int

	mu      sync.Mutex
	queue   []*queuedEvent // not yet in a batch, in arrival order
	leaders int            // callers flushing or handed the lead

	// inTx, for tests, runs inside each batch's transaction with the
	// batch's size; an error fails the batch.
	inTx func(n int) error
}

// queuedEvent is one caller's event and how its caller hears back.
type queuedEvent struct {
	e       audit.Event
	done    chan error    // the batch's outcome; buffered, sent once
	lead    chan struct{} // the caller is to lead a flush; buffered
	batched bool          // taken into a batch (under auditBatcher.mu)
	leader  bool          // handed the lead, not yet taken up (under auditBatcher.mu)
}

// append writes e to the audit log in a transaction shared with the events
// of concurrent callers and returns when that transaction has committed,
// or with its error. If ctx ends while e is still queued, e is dropped and
// ctx's error returned; once e is in a batch it is written exactly once
// whether its caller still waits or not.
func (b *auditBatcher) append(ctx context.Context, e audit.Event) error {
	q := &queuedEvent{e: e, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, q)
	limit := b.leadersMax
	if limit == 0 {
		limit = 2
	}
	lead := b.leaders < limit
	if lead {
		b.leaders++
	}
	b.mu.Unlock()
	if lead {
		b.flush(ctx)
	}
	for {
		select {
		case <-q.lead:
			b.mu.Lock()
			q.leader = false
			b.mu.Unlock()
			b.flush(ctx)
		case err := <-q.done:
			// A lead handed over just before another batch took the
			// event must still be used or passed on.
			b.mu.Lock()
			led := q.leader
			q.leader = false
			b.mu.Unlock()
			if led {
				<-q.lead
				b.flush(ctx)
			}
			return err
		case <-ctx.Done():
			b.mu.Lock()
			if !q.batched {
				b.queue = slices.DeleteFunc(b.queue, func(o *queuedEvent) bool { return o == q })
			} // else it is written (or fails) with its batch; the caller gives up waiting
			if q.leader {
				q.leader = false
				<-q.lead
				b.handOff()
			}
			b.mu.Unlock()
			return ctx.Err()
		}
	}
}

// flush writes the events queued now, up to maxAuditBatch, in one
// transaction, tells their callers, and hands the lead on.
func (b *auditBatcher) flush(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), maxAuditBatch)
	if n == 0 { // another leader took them
		b.handOff()
		b.mu.Unlock()
		return
	}
	batch := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	for _, q := range batch {
		q.batched = true
	}
	b.mu.Unlock()

	// The batch holds other callers' events: the leader's cancellation
	// must not abort their transaction.
	ctx = context.WithoutCancel(ctx)
	err := b.db.Update(ctx, func(tx *store.Tx) error {
		if b.inTx != nil {
			if err := b.inTx(len(batch)); err != nil {
				return err
			}
		}
		for _, q := range batch {
			if err := tx.Audit(ctx, q.e); err != nil {
				return err
			}
		}
		return nil
	})
	for _, q := range batch {
		q.done <- err
	}
	b.mu.Lock()
	b.handOff()
	b.mu.Unlock()
}

// handOff gives up a lead: to the first queued caller not already handed
// one, or, when none waits, by counting one leader fewer. It runs under
// b.mu.
func (b *auditBatcher) handOff() {
	for _, next := range b.queue {
		if !next.leader {
			next.leader = true
			next.lead <- struct{}{}
			return
		}
	}
	b.leaders--
}
