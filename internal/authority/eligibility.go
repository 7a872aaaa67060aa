package authority

import (
	"context"
	"time"

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
	// Refusal is why the rules will not issue now, nil if they will;
	// NextApplication is when the quota allows it again, with
	// ECodeQuotaExceeded.
	Refusal         error
	NextApplication time.Time
	// Electronic is what the long-lived electronic permit would be, when
	// the policy issues it; nil under today's rules.
	Electronic *KindEligibility
}

// KindEligibility is one more kind the applicant may apply for.
type KindEligibility struct {
	ValidityDays    int
	MonthlyQuota    int // 0 means no limit
	UsedThisMonth   int
	Scopes          []permit.Scope
	Refusal         error
	NextApplication time.Time
}

// check runs the rules that depend on the applicant alone (permit.Policy.Check)
// for the person's permit and returns the refusal, if any, with the next
// date the quota allows an application: for the temporary e-permit, unless
// the policy also issues the electronic permit and that one would be
// granted.
func (a *Authority) check(ctx context.Context, tx *store.Tx, personID int64, t permit.DocumentType, number string) (refusal error, next time.Time, err error) {
	refusal, next, err = a.checkKind(ctx, tx, personID, t, number, permit.TemporaryEPermit)
	if err != nil || refusal == nil || !a.cfg.Policy.Kinds[permit.ElectronicPermit].Enabled {
		return refusal, next, err
	}
	if r, _, err := a.checkKind(ctx, tx, personID, t, number, permit.ElectronicPermit); err != nil || r == nil {
		return nil, time.Time{}, err
	}
	return refusal, next, nil
}

func (a *Authority) checkKind(ctx context.Context, tx *store.Tx, personID int64, t permit.DocumentType, number string, kind permit.Kind) (refusal error, next time.Time, err error) {
	_, tp, err := tx.PermitHolder(ctx, personID, t, number)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := tx.Now()
	n, err := tx.CountApplications(ctx, personID, kind, permit.Month(now))
	if err != nil {
		return nil, time.Time{}, err
	}
	current, err := tx.Credentials(ctx, personID, kind, true)
	if err != nil {
		return nil, time.Time{}, err
	}
	refusal = a.cfg.Policy.Check(permit.Request{Kind: kind, Permit: *tp, Now: now, Applications: n, Current: current})
	if permit.ErrorCode(refusal) == permit.ECodeQuotaExceeded {
		next = permit.NextApplication(now)
	}
	return refusal, next, nil
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
		if out.Refusal, out.NextApplication, err = a.checkKind(ctx, tx, s.PersonID, s.DocType, s.DocNumber, permit.TemporaryEPermit); err != nil {
			return err
		}
		if ep := a.cfg.Policy.Kinds[permit.ElectronicPermit]; ep.Enabled {
			used, err := tx.CountApplications(ctx, s.PersonID, permit.ElectronicPermit, permit.Month(tx.Now()))
			if err != nil {
				return err
			}
			e := &KindEligibility{ValidityDays: int(ep.Validity.Hours() / 24), MonthlyQuota: ep.MonthlyQuota, UsedThisMonth: used, Scopes: ep.Scopes}
			if e.Refusal, e.NextApplication, err = a.checkKind(ctx, tx, s.PersonID, s.DocType, s.DocNumber, permit.ElectronicPermit); err != nil {
				return err
			}
			out.Electronic = e
		}
		return nil
	})
	return out, err
}
