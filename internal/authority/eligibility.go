package authority

import (
	"context"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Eligibility is what an applicant is told before applying: whose session
// it is, the physical permit the e-permit rests on, and the rules that will
// apply, so that nothing in the answer to Apply comes as a surprise.
type Eligibility struct {
	Name           string // Chinese name as registered, may be empty
	LatinName      string
	DocumentType   permit.DocumentType
	DocumentNumber string
	// PermitExpiresOn is the physical permit's last day: the e-permit never
	// lasts beyond it.
	PermitExpiresOn permit.Date
	ValidityDays    int
	MonthlyQuota    int // 0 means no limit
	UsedThisMonth   int // applications granted this calendar month (China time)
	Scopes          []permit.Scope
}

// Eligibility describes the rules for the applicant of the session token.
// It changes nothing.
func (a *Authority) Eligibility(ctx context.Context, token string) (*Eligibility, error) {
	var out *Eligibility
	err := a.db.View(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		rec, err := tx.Record(ctx, s.PersonID)
		if err != nil {
			return err
		}
		kp := a.cfg.Policy.Kinds[permit.TemporaryEPermit]
		n, err := tx.CountApplications(ctx, s.PersonID, permit.TemporaryEPermit, permit.Month(tx.Now()))
		if err != nil {
			return err
		}
		out = &Eligibility{Name: rec.Person.Name, LatinName: rec.Person.LatinName, DocumentType: s.DocType,
			DocumentNumber: s.DocNumber, ValidityDays: int(kp.Validity.Hours() / 24), MonthlyQuota: kp.MonthlyQuota,
			UsedThisMonth: n, Scopes: kp.Scopes}
		for _, tp := range rec.TravelPermits {
			if tp.Type == s.DocType && tp.Number == s.DocNumber {
				out.PermitExpiresOn = tp.ExpiresOn
			}
		}
		return nil
	})
	return out, err
}
