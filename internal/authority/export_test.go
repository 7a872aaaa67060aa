package authority

import (
	"context"

	"github.com/epermit/epermit/permit"
)

// SetLinkageAuditHook makes fn run inside each transaction of the linkage
// checks' group commit, with the number of events it writes; an error from
// fn fails that transaction. For tests: counting batches, failing one.
func SetLinkageAuditHook(a *Authority, fn func(n int) error) { a.linkageAudit.inTx = fn }

// CheckLinkageOneTx is CheckLinkage without group commit (the registry
// read and the audit event in one write transaction per check, as on
// PostgreSQL), the benchmarks' baseline.
func (a *Authority) CheckLinkageOneTx(ctx context.Context, c *permit.Client, q LinkageCheck) (*LinkageAnswer, error) {
	return a.checkLinkage(ctx, c, q, false)
}

// SetLinkageGroupCommit turns the linkage checks' group commit on or off,
// so that its tests run on both engines.
func SetLinkageGroupCommit(a *Authority, on bool) { a.groupLinkageAudit = on }

// LinkageAuditQueued is how many linkage check events wait for a batch.
func LinkageAuditQueued(a *Authority) int {
	a.linkageAudit.mu.Lock()
	defer a.linkageAudit.mu.Unlock()
	return len(a.linkageAudit.queue)
}

// SetLinkageAuditLeaders sets how many linkage check batches may be in
// flight at once (0: the default).
func SetLinkageAuditLeaders(a *Authority, n int) { a.linkageAudit.leadersMax = n }

// LinkageAuditIdle reports whether no linkage check event is queued and no
// batch leader is left.
func LinkageAuditIdle(a *Authority) bool {
	a.linkageAudit.mu.Lock()
	defer a.linkageAudit.mu.Unlock()
	return len(a.linkageAudit.queue) == 0 && a.linkageAudit.leaders == 0
}
