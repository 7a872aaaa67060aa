package authority_test

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// bothSwitches is the policy of testdata with the long-lived electronic
// permit and the border scope switched on.
func bothSwitches(t testing.TB) permit.Policy {
	t.Helper()
	data, err := os.ReadFile("../../permit/testdata/policy/both.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := permit.ParsePolicy(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The policy in force is recorded in the audit log when it changes, once
// however many replicas start together.
func TestRecordPolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		if changed, err := f.a.RecordPolicy(ctx); err != nil || changed {
			t.Fatalf("RecordPolicy with today's rules on a new store = %v, %v; want nothing recorded", changed, err)
		}
		wide, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test", Policy: bothSwitches(t),
			Notifier: f.phone, FaceMode: authority.FaceDemo, Demo: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		recorded := 0
		for range 16 {
			wg.Go(func() {
				changed, err := wide.RecordPolicy(ctx)
				if err != nil {
					t.Error(err)
				}
				if changed {
					mu.Lock()
					recorded++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		es, err := f.a.SearchAudit(ctx, store.AuditFilter{Action: "policy.change", Limit: 10})
		if err != nil || recorded != 1 || len(es) != 1 {
			t.Fatalf("16 replicas starting with a new policy recorded %d (%d events, %v); want 1", recorded, len(es), err)
		}
		// Back to today's rules: a change again.
		if changed, err := f.a.RecordPolicy(ctx); err != nil || !changed {
			t.Fatalf("RecordPolicy back to today's rules = %v, %v; want recorded", changed, err)
		}
		if f.a.PolicyHash() == wide.PolicyHash() {
			t.Error("two policies, one hash")
		}
	})
}

// With both switches on, an applicant may apply for the long-lived kind:
// its validity, its own quota, and the border scope in the credential.
func TestApplyElectronicPermit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Today's rules refuse the kind.
		f := newFixture(t, db, authority.Config{})
		token := f.prove(t, f.recs[0])
		if _, err := f.applyKind(t, token, newDevice(t), permit.ElectronicPermit); permit.ErrorCode(err) != permit.ECodeKindDisabled {
			t.Fatalf("electronic permit under today's rules: %v; want kind_disabled", err)
		}

		f = newFixture(t, storetest.Open(t, db.Engine()), authority.Config{Policy: bothSwitches(t)})
		token = f.prove(t, f.recs[0])
		e, err := f.a.Eligibility(ctx, token)
		if err != nil || e.Electronic == nil || e.Electronic.ValidityDays != 365 || e.Electronic.MonthlyQuota != 1 ||
			!slices.Contains(e.Electronic.Scopes, permit.ScopeBorder) {
			t.Fatalf("eligibility = %+v, %v; want the electronic permit offered", e, err)
		}
		c, err := f.applyKind(t, token, newDevice(t), permit.ElectronicPermit)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now()
		ep, err := credential.ParseEPermit(c.Token)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != permit.ElectronicPermit || ep.Claims.Permit.Kind != credential.KindElectronicPermit ||
			!slices.Contains(ep.Claims.Permit.Scopes, credential.ScopeBorder) {
			t.Errorf("credential kind %v, claims %+v; want electronic with border", c.Kind, ep.Claims.Permit)
		}
		if want := now.Add(365 * 24 * time.Hour); c.ExpiresAt.Sub(want).Abs() > time.Second && c.ExpiresAt.After(want) {
			t.Errorf("expires %v; want at most a year from %v", c.ExpiresAt, now)
		}
		if _, err := f.applyKind(t, token, newDevice(t), permit.ElectronicPermit); permit.ErrorCode(err) != permit.ECodeQuotaExceeded {
			t.Errorf("second electronic permit this month: %v; want quota_exceeded", err)
		}
		// Eligibility counts each kind's applications apart and says the
		// refusal that goes with the count.
		e, err = f.a.Eligibility(ctx, token)
		if err != nil || e.UsedThisMonth != 0 || e.Refusal != nil || e.Electronic.UsedThisMonth != 1 ||
			permit.ErrorCode(e.Electronic.Refusal) != permit.ECodeQuotaExceeded || e.Electronic.NextApplication.IsZero() {
			t.Errorf("eligibility after one electronic permit = %+v (electronic %+v), %v", e, e.Electronic, err)
		}
		// The temporary e-permit keeps its own quota and no border scope.
		tmp, err := f.apply(t, token, newDevice(t), permit.ReasonLost, "")
		if err != nil || tmp.Kind != permit.TemporaryEPermit {
			t.Fatalf("temporary e-permit beside it = %+v, %v", tmp, err)
		}
		if ep, _ := credential.ParseEPermit(tmp.Token); ep == nil || slices.Contains(ep.Claims.Permit.Scopes, credential.ScopeBorder) {
			t.Errorf("temporary e-permit scopes: want no border")
		}
	})
}
