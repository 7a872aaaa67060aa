package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// PendingFaceReview reads one session, and only one waiting for an officer
// and not expired.
func TestPendingFaceReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := fixedClock(db, t0)
		p := hkPerson(1)
		addRecord(t, db, p, nil, hkPermit(1))
		selfie := portrait(99)
		add := func(secret, state string, expires time.Time) int64 {
			s := &store.ProofingSession{SecretHash: []byte(secret), PersonID: p.ID, DocType: permit.HKHomeReturnPermit,
				DocNumber: hkPermit(1).Number, State: state, CreatedAt: now, ExpiresAt: expires}
			update(t, db, func(tx *store.Tx) error {
				if err := tx.AddProofingSession(ctx, s); err != nil {
					return err
				}
				s.Selfie = selfie
				return tx.UpdateProofingSession(ctx, s)
			})
			return s.ID
		}
		pending := add("a", store.ProofingFacePending, now.Add(time.Hour))
		expired := add("b", store.ProofingFacePending, now)
		other := add("c", store.ProofingCodeSent, now.Add(time.Hour))
		view(t, db, func(tx *store.Tx) error {
			s, err := tx.PendingFaceReview(ctx, pending)
			if err != nil || s.ID != pending || s.PersonID != p.ID || !bytes.Equal(s.Selfie, selfie) || !s.CreatedAt.Equal(now) {
				t.Errorf("pending review = %+v, %v", s, err)
			}
			for name, id := range map[string]int64{"expired": expired, "code sent": other, "unknown": other + 100} {
				_, err := tx.PendingFaceReview(ctx, id)
				wantCode(t, name, err, permit.ECodeNotFound)
			}
			return nil
		})
	})
}
