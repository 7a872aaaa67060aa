package permit

import (
	"testing"
	"time"
)

func TestMonth(t *testing.T) {
	for _, tc := range []struct {
		at   string
		want string
	}{
		// 2026-11-30 16:00 UTC is 2026-12-01 00:00 in Shanghai: December.
		{"2026-11-30T15:59:59Z", "2026-11"},
		{"2026-11-30T16:00:00Z", "2026-12"},
		{"2026-12-31T16:00:00Z", "2027-01"},
		{"2027-01-01T00:00:00+08:00", "2027-01"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := Month(at); got != tc.want {
			t.Errorf("Month(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, ChinaTime)
	valid := TravelPermit{Type: HKHomeReturnPermit, Number: "H12345678", ExpiresOn: Date{2031, 6, 30}, Status: StatusValid}
	with := func(f func(*TravelPermit)) TravelPermit { p := valid; f(&p); return p }
	base := Request{Kind: TemporaryEPermit, Reason: ReasonLost, Permit: valid, Now: now}
	cases := []struct {
		name     string
		edit     func(*Request)
		policy   func(*Policy)
		code     Code          // refusal code, or "" for a grant
		validity time.Duration // expected ExpiresAt − Now for grants
		month    string
	}{
		{"lost", func(r *Request) {}, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"damaged", func(r *Request) { r.Reason = ReasonDamaged }, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"forgotten", func(r *Request) { r.Reason = ReasonForgotten }, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"no reason", func(r *Request) { r.Reason = 0 }, nil, ECodeReasonInvalid, 0, ""},
		{"unknown reason", func(r *Request) { r.Reason = 4 }, nil, ECodeReasonInvalid, 0, ""},
		{"reported lost permit is the usual case", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.Status = StatusReportedLost })
		}, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"cancelled permit", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.Status = StatusCancelled })
		}, nil, ECodePermitCancelled, 0, ""},
		{"permit expired yesterday", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.ExpiresOn = Date{2026, 11, 24} })
		}, nil, ECodePermitExpired, 0, ""},
		{"permit expires today: valid to midnight", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.ExpiresOn = Date{2026, 11, 25} })
		}, nil, "", 14 * time.Hour, "2026-11"},
		{"permit expires in 3 days: capped", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.ExpiresOn = Date{2026, 11, 28} })
		}, nil, "", 3*24*time.Hour + 14*time.Hour, "2026-11"},
		{"permit expires in exactly 7 days at this hour: cap not reached", func(r *Request) {
			r.Permit = with(func(p *TravelPermit) { p.ExpiresOn = Date{2026, 12, 2} })
		}, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"first application", func(r *Request) { r.Applications = 0 }, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"second application", func(r *Request) { r.Applications = 1 }, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"third application", func(r *Request) { r.Applications = 2 }, nil, ECodeQuotaExceeded, 0, ""},
		{"last second of November in Shanghai", func(r *Request) {
			r.Now = time.Date(2026, 11, 30, 23, 59, 59, 0, ChinaTime)
		}, nil, "", 7 * 24 * time.Hour, "2026-11"},
		{"Shanghai midnight starts December", func(r *Request) {
			r.Now = time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
		}, nil, "", 7 * 24 * time.Hour, "2026-12"},
		{"electronic permit disabled by default", func(r *Request) { r.Kind = ElectronicPermit }, nil, ECodeKindDisabled, 0, ""},
		{"linkage proofs are not e-permits", func(r *Request) { r.Kind = LinkageProofKind }, nil, ECodeKindDisabled, 0, ""},
		{"electronic permit enabled by policy", func(r *Request) { r.Kind = ElectronicPermit; r.Reason = 0 }, func(p *Policy) {
			kp := p.Kinds[ElectronicPermit]
			kp.Enabled = true
			p.Kinds[ElectronicPermit] = kp
		}, "", 365 * 24 * time.Hour, "2026-11"},
		{"border scope without AllowBorder", func(r *Request) {}, func(p *Policy) {
			kp := p.Kinds[TemporaryEPermit]
			kp.Scopes = []Scope{ScopeFlight, ScopeTrain, ScopeBorder}
			p.Kinds[TemporaryEPermit] = kp
		}, ECodeScopeNotAllowed, 0, ""},
		{"quota disabled", func(r *Request) { r.Applications = 50 }, func(p *Policy) {
			kp := p.Kinds[TemporaryEPermit]
			kp.MonthlyQuota = 0
			p.Kinds[TemporaryEPermit] = kp
		}, "", 7 * 24 * time.Hour, "2026-11"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			r := base
			tc.edit(&r)
			g, err := p.Decide(r)
			if tc.code != "" {
				if ErrorCode(err) != tc.code {
					t.Fatalf("Decide = %v, %v; want refusal %s", g, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide refused: %v", err)
			}
			if got := g.ExpiresAt.Sub(r.Now); got != tc.validity {
				t.Errorf("validity %v, want %v", got, tc.validity)
			}
			if !g.NotBefore.Equal(r.Now) || g.Month != tc.month {
				t.Errorf("nbf %v month %s, want %v %s", g.NotBefore, g.Month, r.Now, tc.month)
			}
			if r.Kind == TemporaryEPermit && (len(g.Scopes) != 2 || g.Scopes[0] != ScopeFlight || g.Scopes[1] != ScopeTrain) {
				t.Errorf("scopes %v, want flight and train", g.Scopes)
			}
		})
	}
}

func TestDecideSupersedes(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, ChinaTime)
	r := Request{Kind: TemporaryEPermit, Reason: ReasonForgotten, Now: now, Applications: 1,
		Permit:  TravelPermit{ExpiresOn: Date{2030, 1, 1}, Status: StatusValid},
		Current: []Credential{{ID: []byte("A")}}}
	g, err := DefaultPolicy().Decide(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Supersede) != 1 || string(g.Supersede[0]) != "A" {
		t.Fatalf("Supersede = %q, want the current e-permit", g.Supersede)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	border := DefaultPolicy()
	kp := border.Kinds[TemporaryEPermit]
	kp.Scopes = append(kp.Scopes, ScopeBorder)
	border.Kinds[TemporaryEPermit] = kp
	if err := border.Validate(); ErrorCode(err) != ECodeInvalid {
		t.Fatalf("border scope without AllowBorder: %v", err)
	}
	border.AllowBorder = true
	if err := border.Validate(); err != nil {
		t.Fatalf("border scope explicitly allowed: %v", err)
	}
	broken := DefaultPolicy()
	broken.Kinds[ElectronicPermit] = KindPolicy{Enabled: true}
	broken.Kinds[LinkageProofKind] = KindPolicy{}
	if err := broken.Validate(); err == nil {
		t.Fatal("policy with an incomplete enabled kind and a linkage kind accepted")
	}
}

// Check answers what the applicant's own situation allows, whatever reason
// they will give.
func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, ChinaTime)
	valid := TravelPermit{Type: HKHomeReturnPermit, Number: "H12345678", ExpiresOn: Date{2031, 6, 30}, Status: StatusValid}
	expired := valid
	expired.ExpiresOn = Date{2026, 11, 24}
	cancelled := valid
	cancelled.Status = StatusCancelled
	for _, tc := range []struct {
		name string
		r    Request
		want Code
	}{
		{"eligible, no reason yet", Request{Kind: TemporaryEPermit, Permit: valid, Now: now}, ""},
		{"one left", Request{Kind: TemporaryEPermit, Permit: valid, Now: now, Applications: 1}, ""},
		{"quota used", Request{Kind: TemporaryEPermit, Permit: valid, Now: now, Applications: 2}, ECodeQuotaExceeded},
		{"permit expired", Request{Kind: TemporaryEPermit, Permit: expired, Now: now}, ECodePermitExpired},
		{"permit cancelled", Request{Kind: TemporaryEPermit, Permit: cancelled, Now: now}, ECodePermitCancelled},
		{"kind disabled", Request{Kind: ElectronicPermit, Permit: valid, Now: now}, ECodeKindDisabled},
	} {
		var got Code
		if err := DefaultPolicy().Check(tc.r); err != nil {
			got = ErrorCode(err)
		}
		if got != tc.want {
			t.Errorf("%s: Check = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got, want := NextApplication(now), time.Date(2026, 12, 1, 0, 0, 0, 0, ChinaTime); !got.Equal(want) {
		t.Errorf("NextApplication = %v, want %v", got, want)
	}
}
