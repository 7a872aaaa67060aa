package authority

import (
	"context"
	"time"

	"github.com/epermit/epermit/internal/store"
)

// Housekeeping of the wallet protocols' rows: offers, c_nonces and
// presentation requests are of use for minutes; left alone their tables
// only grow (the nonce endpoint is open to anyone).
const (
	// PresentationKept is how long a presentation request, with its
	// result, stays after it expired, for its institution to fetch.
	PresentationKept = time.Hour
	// PurgeInterval is how often the server purges.
	PurgeInterval = 10 * time.Minute
)

// Purged counts what one purge removed.
type Purged struct {
	Offers, Requests, Nonces int64
}

// PurgeExpired removes, in one transaction, the offers whose code and
// access token have expired, the expired c_nonces, and the presentation
// requests expired more than PresentationKept ago. Removing offers or
// requests is audited (oid4vc.purge, with the counts); the audit log keeps
// each one's story.
func (a *Authority) PurgeExpired(ctx context.Context) (Purged, error) {
	var p Purged
	err := a.db.Update(ctx, func(tx *store.Tx) (err error) {
		now := tx.Now()
		if p.Offers, err = tx.DeleteOffersBefore(ctx, now); err != nil {
			return err
		}
		if p.Requests, err = tx.DeleteVPRequestsBefore(ctx, now.Add(-PresentationKept)); err != nil {
			return err
		}
		if p.Nonces, err = tx.DeleteCNoncesBefore(ctx, now); err != nil {
			return err
		}
		if p.Offers == 0 && p.Requests == 0 {
			return nil
		}
		return tx.Audit(ctx, event(ctx, "oid4vc.purge", "oid4vc", map[string]any{
			"offers": p.Offers, "presentation_requests": p.Requests, "c_nonces": p.Nonces}))
	})
	if err != nil {
		return Purged{}, err
	}
	return p, nil
}

// RunPurges purges at once and then every interval until ctx ends. A
// failure is logged and the next tick tries again.
func (a *Authority) RunPurges(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if p, err := a.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("purging expired offers, c_nonces and presentation requests failed", "err", err)
		} else if p.Offers+p.Requests+p.Nonces > 0 {
			a.log.Info("purged expired", "offers", p.Offers, "presentation_requests", p.Requests, "c_nonces", p.Nonces)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
