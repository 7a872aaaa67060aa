package permit

import (
	"fmt"
	"slices"
	"time"
)

// Scope is a use a credential is good for. Values are those of the
// credential's "scopes" field (spec/formats.md §2).
type Scope int

// The uses of an e-permit.
const (
	ScopeFlight Scope = 1 // domestic flights: security check and boarding
	ScopeTrain  Scope = 2 // domestic trains: ticket check and riding
	ScopeBorder Scope = 3 // exit/entry at border control: not under today's policy
)

// Reason is why an applicant needs a temporary e-permit.
type Reason int

// The reasons the rules accept (spec/formats.md §2 "reason").
const (
	ReasonLost      Reason = 1
	ReasonDamaged   Reason = 2
	ReasonForgotten Reason = 3
)

// ParseReason accepts "lost", "damaged" and "forgotten".
func ParseReason(s string) (Reason, error) {
	switch s {
	case "lost":
		return ReasonLost, nil
	case "damaged":
		return ReasonDamaged, nil
	case "forgotten":
		return ReasonForgotten, nil
	}
	return 0, Errorf(ECodeReasonInvalid, "reason must be lost, damaged or forgotten, not %q", s)
}

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case ReasonLost:
		return "lost"
	case ReasonDamaged:
		return "damaged"
	case ReasonForgotten:
		return "forgotten"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// KindPolicy is how one kind of credential is issued. Kinds are policy data,
// so that a border scope or a long-lived electronic permit is a change of
// configuration, not of code.
type KindPolicy struct {
	Enabled  bool
	Validity time.Duration // from issue; never past the physical permit's expiry
	Scopes   []Scope       // what every credential of the kind is good for
	// MonthlyQuota is how many applications a person may make in one
	// calendar month in China time; 0 means no limit.
	MonthlyQuota int
	// Reasons the applicant may give; empty means no reason is asked.
	Reasons []Reason
}

// Policy is the issuance policy in force.
type Policy struct {
	Kinds map[Kind]KindPolicy
	// AllowBorder must be set for any kind to carry ScopeBorder: e-permits
	// are explicitly not valid at border control under today's rules.
	AllowBorder bool
	// AllowElectronicPermit must be set to enable the long-lived
	// ElectronicPermit kind.
	AllowElectronicPermit bool
}

// The temporary e-permit's limits under today's rules: a policy may narrow
// them, never widen them.
const (
	maxTemporaryValidity = 7 * 24 * time.Hour
	maxTemporaryQuota    = 2
)

// DefaultPolicy is today's rule: the temporary e-permit, 7 days from issue
// capped at the physical permit's expiry, at most 2 a calendar month, for
// domestic flights and trains, to those who lost, damaged or forgot their
// permit. The electronic permit is defined but disabled.
func DefaultPolicy() Policy {
	return Policy{Kinds: map[Kind]KindPolicy{
		TemporaryEPermit: {
			Enabled:      true,
			Validity:     7 * 24 * time.Hour,
			Scopes:       []Scope{ScopeFlight, ScopeTrain},
			MonthlyQuota: 2,
			Reasons:      []Reason{ReasonLost, ReasonDamaged, ReasonForgotten},
		},
		ElectronicPermit: {
			Enabled:  false,
			Validity: 365 * 24 * time.Hour,
			Scopes:   []Scope{ScopeFlight, ScopeTrain},
		},
	}}
}

// Validate refuses a policy that widens the rules without saying so: border
// scope without AllowBorder, an enabled kind without validity or scopes.
func (p Policy) Validate() error {
	var ps problems
	for kind, kp := range p.Kinds {
		field := fmt.Sprintf("kinds[%d]", kind)
		if kind != TemporaryEPermit && kind != ElectronicPermit {
			ps.add(field, "kind_invalid", "only kinds 1 (temporary e-permit) and 2 (electronic permit) are issued as e-permits")
		}
		if kp.Enabled && (kp.Validity <= 0 || len(kp.Scopes) == 0) {
			ps.add(field, "kind_incomplete", "an enabled kind needs a validity and at least one scope")
		}
		for _, s := range kp.Scopes {
			switch {
			case s == ScopeBorder && !p.AllowBorder:
				ps.add(field+".scopes", string(ECodeScopeNotAllowed), "border control is not allowed unless the policy enables it explicitly")
			case s < ScopeFlight || s > ScopeBorder:
				ps.add(field+".scopes", "scope_invalid", "unknown scope %d", s)
			}
		}
		if kp.MonthlyQuota < 0 {
			ps.add(field+".monthly_quota", "quota_invalid", "must not be negative")
		}
		switch {
		case kind == ElectronicPermit && kp.Enabled && !p.AllowElectronicPermit:
			ps.add(field, "electronic_not_allowed", "the long-lived electronic permit is not issued unless the policy enables it explicitly")
		case kind == TemporaryEPermit && kp.Validity > maxTemporaryValidity:
			ps.add(field+".validity", "widening", "the temporary e-permit lasts at most %v", maxTemporaryValidity)
		case kind == TemporaryEPermit && kp.Enabled && (kp.MonthlyQuota == 0 || kp.MonthlyQuota > maxTemporaryQuota):
			ps.add(field+".monthly_quota", "widening", "the temporary e-permit allows at most %d applications a month", maxTemporaryQuota)
		}
	}
	return ps.err("issuance policy")
}

// Month is the calendar month in China time of instant t, "2026-11": the
// period the monthly quota counts in.
func Month(t time.Time) string { return t.In(ChinaTime).Format("2006-01") }

// Request is an application as the rules see it: what is asked for, the
// physical permit it rests on, and the applicant's history.
type Request struct {
	Kind   Kind
	Reason Reason
	Permit TravelPermit // the physical permit on file
	Now    time.Time
	// Applications is how many applications for this kind the person made
	// in the month of Now (China time): every application that was granted,
	// through any channel, including e-permits since cancelled, revoked or
	// superseded, but not those the authority voided because it withdrew
	// their e-permit itself (a leaked issuer key). Refused applications and
	// idempotent retries are not applications: nothing is recorded for them.
	Applications int
	// Current are the person's credentials of this kind that are neither
	// revoked nor expired at Now.
	Current []Credential
}

// Grant is what the rules allow for a request.
type Grant struct {
	NotBefore time.Time
	ExpiresAt time.Time
	Scopes    []Scope
	Month     string
	// Supersede lists the credentials the new one replaces: a person holds
	// at most one current credential of a kind, so these are revoked in the
	// same transaction as the issue.
	Supersede [][]byte
}

// Decide applies the policy to a request. It returns the grant, or an *Error
// whose code says which rule refused it.
func (p Policy) Decide(r Request) (*Grant, error) {
	kp, ok := p.Kinds[r.Kind]
	if !ok || !kp.Enabled {
		return nil, Errorf(ECodeKindDisabled, "credentials of kind %d are not issued under the current policy", r.Kind)
	}
	if len(kp.Reasons) > 0 && !slices.Contains(kp.Reasons, r.Reason) {
		return nil, Errorf(ECodeReasonInvalid, "the reason must be that the permit was lost, damaged or forgotten")
	}
	if slices.Contains(kp.Scopes, ScopeBorder) && !p.AllowBorder {
		return nil, Errorf(ECodeScopeNotAllowed, "e-permits are not valid at border control under the current policy")
	}
	switch {
	case r.Permit.Status == StatusCancelled:
		return nil, Errorf(ECodePermitCancelled, "the travel permit on file is cancelled")
	case r.Permit.Expired(r.Now):
		return nil, Errorf(ECodePermitExpired, "the travel permit on file expired on %s", r.Permit.ExpiresOn)
	}
	if kp.MonthlyQuota > 0 && r.Applications >= kp.MonthlyQuota {
		return nil, Errorf(ECodeQuotaExceeded, "at most %d applications a calendar month; the next can be made from %s",
			kp.MonthlyQuota, nextMonth(r.Now).Format("2006-01-02 15:04 MST"))
	}
	g := &Grant{
		NotBefore: r.Now,
		ExpiresAt: r.Now.Add(kp.Validity),
		Scopes:    slices.Clone(kp.Scopes),
		Month:     Month(r.Now),
	}
	if end := r.Permit.ExpiresOn.End(); end.Before(g.ExpiresAt) {
		g.ExpiresAt = end
	}
	for _, c := range r.Current {
		g.Supersede = append(g.Supersede, c.ID)
	}
	return g, nil
}

// Check applies the rules that depend on the applicant alone, not on what
// the application says: the kind is issued, the physical permit is valid,
// the quota leaves room. It is what an applicant is told as soon as their
// phone is proven, so that an ineligible one does not go on to the face
// check. A nil error means Decide will grant, given an accepted reason.
func (p Policy) Check(r Request) error {
	if kp := p.Kinds[r.Kind]; len(kp.Reasons) > 0 {
		r.Reason = kp.Reasons[0]
	}
	_, err := p.Decide(r)
	return err
}

// NextApplication is when an applicant refused for the quota at now may
// apply again: the first instant of the next month, China time.
func NextApplication(now time.Time) time.Time { return nextMonth(now) }

// nextMonth is the first instant of the month after t's, in China time.
func nextMonth(t time.Time) time.Time {
	c := t.In(ChinaTime)
	return time.Date(c.Year(), c.Month()+1, 1, 0, 0, 0, 0, ChinaTime)
}
