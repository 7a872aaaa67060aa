package authority_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// Free text that the system keeps and shows again refuses the bidi
// controls that reorder what a reader sees, with a field problem, and
// nothing is written.
func TestFreeTextRefusesBidiControls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "Bank of Somewhere", "bank")
		if err != nil {
			t.Fatal(err)
		}
		token := f.prove(t, f.recs[0])
		c, err := f.apply(t, token, newDevice(t), permit.ReasonLost, "")
		if err != nil {
			t.Fatal(err)
		}
		chan0 := f.recs[0]
		check := authority.LinkageCheck{TravelPermitType: chan0.TravelPermits[0].Type, TravelPermitNumber: chan0.TravelPermits[0].Number,
			ResidencePermitNumber: chan0.ResidencePermit.Number, Purpose: "account opening"}
		for _, bidi := range []string{"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069"} {
			tests := []struct {
				name, field string
				call        func() error
			}{
				{"verifier name", "name", func() error {
					_, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate"+bidi+"1", "railway")
					return err
				}},
				{"institution name", "name", func() error {
					_, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "Bank"+bidi+"knil", "bank")
					return err
				}},
				{"linkage purpose", "purpose", func() error {
					q := check
					q.Purpose = "KYC " + bidi + "gnineppo tnuocca"
					_, err := f.a.CheckLinkage(ctx, bank, q)
					return err
				}},
				{"linkage name", "name", func() error {
					q := check
					q.Name = "CHAN" + bidi + " TAI MAN"
					_, err := f.a.CheckLinkage(ctx, bank, q)
					return err
				}},
				{"revoke reason", "reason", func() error { _, err := f.a.Revoke(ctx, c.ID, "fraud"+bidi); return err }},
				{"suspend reason", "reason", func() error { _, err := f.a.Suspend(ctx, c.ID, bidi+"check"); return err }},
				{"revoke document reason", "reason", func() error {
					_, err := f.a.RevokeDocument(ctx, permit.HKHomeReturnPermit, "H12345678", "lost"+bidi)
					return err
				}},
				{"face review note", "note", func() error { return f.a.ReviewFace(ctx, 1, true, "ok"+bidi) }},
				{"registry import source", "source", func() error {
					_, err := f.a.ImportRegistry(ctx, strings.NewReader(""), "file"+bidi+".jsonl")
					return err
				}},
			}
			for _, tc := range tests {
				var e *permit.Error
				err := tc.call()
				if !errors.As(err, &e) || e.Code != permit.ECodeInvalid || len(e.Problems) != 1 || e.Problems[0].Field != tc.field {
					t.Errorf("%s with %U: %v; want invalid with a problem in %s", tc.name, []rune(bidi)[0], err, tc.field)
				}
			}
		}
		// Nothing was written: the e-permit is still active, no client added.
		cs, _ := f.a.Clients(ctx, permit.RoleVerifier)
		if len(cs) != 0 {
			t.Errorf("%d verifiers added", len(cs))
		}
		if _, err := f.a.Suspend(ctx, c.ID, "a plain reason"); err != nil {
			t.Errorf("suspending after the refusals: %v", err)
		}
	})
}
