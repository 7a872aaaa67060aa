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
	c, err := a.checkKind(ctx, tx, personID, t, number, permit.TemporaryEPermit)
	if err != nil || c.refusal == nil || !a.cfg.Policy.Kinds[permit.ElectronicPermit].Enabled {
		return c.refusal, c.next, err
	}
	if e, err := a.checkKind(ctx, tx, personID, t, number, permit.ElectronicPermit); err != nil || e.refusal == nil {
		return nil, time.Time{}, err
	}
	return c.refusal, c.next, nil
}

// kindCheck is what the rules say of one kind for an applicant now.
type kindCheck struct {
	refusal error
	next    time.Time // with ECodeQuotaExceeded: when the quota allows an application again
	used    int       // applications of the kind granted this calendar month
}

func (a *Authority) checkKind(ctx context.Context, tx *store.Tx, personID int64, t permit.DocumentType, number string, kind permit.Kind) (kindCheck, error) {
	_, tp, err := tx.PermitHolder(ctx, personID, t, number)
	if err != nil {
		return kindCheck{}, err
	}
	now := tx.Now()
	n, err := tx.CountApplications(ctx, personID, kind, permit.Month(now))
	if err != nil {
		return kindCheck{}, err
	}
	current, err := tx.Credentials(ctx, personID, kind, true)
	if err != nil {
		return kindCheck{}, err
	}
	c := kindCheck{used: n,
		refusal: a.cfg.Policy.Check(permit.Request{Kind: kind, Permit: *tp, Now: now, Applications: n, Current: current})}
	if permit.ErrorCode(c.refusal) == permit.ECodeQuotaExceeded {
		c.next = permit.NextApplication(now)
	}
	return c, nil
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
		// The counts shown are the ones the rules were checked with: one
		// read each, so the two cannot disagree.
		kp := a.cfg.Policy.Kinds[permit.TemporaryEPermit]
		c, err := a.checkKind(ctx, tx, s.PersonID, s.DocType, s.DocNumber, permit.TemporaryEPermit)
		if err != nil {
			return err
		}
		out = &Eligibility{Name: rec.Person.Name, LatinName: rec.Person.LatinName, DocumentType: s.DocType,
			DocumentNumber: s.DocNumber, ValidityDays: int(kp.Validity.Hours() / 24), MonthlyQuota: kp.MonthlyQuota,
			UsedThisMonth: c.used, Scopes: kp.Scopes, Refusal: c.refusal, NextApplication: c.next}
		for _, tp := range rec.TravelPermits {
			if tp.Type == s.DocType && tp.Number == s.DocNumber {
				out.PermitExpiresOn = tp.ExpiresOn
			}
		}
		if ep := a.cfg.Policy.Kinds[permit.ElectronicPermit]; ep.Enabled {
			e, err := a.checkKind(ctx, tx, s.PersonID, s.DocType, s.DocNumber, permit.ElectronicPermit)
			if err != nil {
				return err
			}
			out.Electronic = &KindEligibility{ValidityDays: int(ep.Validity.Hours() / 24), MonthlyQuota: ep.MonthlyQuota,
				UsedThisMonth: e.used, Scopes: ep.Scopes, Refusal: e.refusal, NextApplication: e.next}
		}
		return nil
	})
	return out, err
}
