package authority_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// dbStatus reads status entries straight from the store, as the online
// verifier does.
type dbStatus struct{ db *store.DB }

func (s dbStatus) Status(ctx context.Context, uri string, idx uint64, now time.Time) (verify.StatusValue, time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(uri, "https://epermit.test/s/"), 10, 64)
	if err != nil {
		return 0, time.Time{}, err
	}
	st, err := s.db.StatusEntry(ctx, n, int64(idx))
	return verify.StatusValue(st), now, err
}

func (f *fixture) trust(t testing.TB) *verify.TrustList {
	t.Helper()
	set, err := f.a.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := verify.ParseTrustList(mustJSON(t, set), "test", f.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) linkage(t testing.TB, token string, d device) (*permit.Credential, error) {
	t.Helper()
	nonce, _, err := f.a.Nonce(ctx, token)
	if err != nil {
		t.Fatalf("nonce: %v", err)
	}
	return f.a.IssueLinkage(ctx, token, authority.LinkageRequest{HolderKey: &d.key.PublicKey, Signature: d.sign(t, nonce)})
}

// reimport changes one record in the registry through an import.
func (f *fixture) reimport(t testing.TB, rec permit.Record) {
	t.Helper()
	if _, err := f.a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{rec})), "test"); err != nil {
		t.Fatal(err)
	}
}

// Proofing → linkage proof → a presentation of two claims → an
// institution's verification accepts it and sees only those two; revoked,
// it is refused with `revoked`.
func TestLinkageEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		chan0 := f.recs[0]
		token := f.prove(t, chan0)
		d := newDevice(t)
		c, err := f.linkage(t, token, d)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now().Truncate(time.Second)
		if c.Kind != permit.LinkageProofKind || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(authority.LinkageValidity)) {
			t.Errorf("credential %+v", c)
		}
		// The nonce was single use.
		if _, err := f.a.IssueLinkage(ctx, token, authority.LinkageRequest{HolderKey: &d.key.PublicKey, Signature: d.sign(t, "x")}); permit.ErrorCode(err) != permit.ECodeProofInvalid {
			t.Errorf("reused nonce: %v", err)
		}

		pres, err := credential.PresentLinkage(string(c.Token), []string{credential.ClaimTravelPermitNumber, credential.ClaimResidencePermitNumber},
			d.key, "bank-1", "n0nce", now)
		if err != nil {
			t.Fatal(err)
		}
		pol := verify.LinkagePolicy{Audience: "bank-1", Nonce: "n0nce", Required: []string{credential.ClaimResidencePermitNumber}}
		r := verify.VerifyLinkage(ctx, f.trust(t), dbStatus{db}, pres, pol, now.Add(time.Minute))
		if r.Decision != verify.Accept {
			t.Fatalf("verification: %s %s", r.Decision, r.Code)
		}
		want := map[string]any{credential.ClaimTravelPermitNumber: "H12345678", credential.ClaimResidencePermitNumber: chan0.ResidencePermit.Number}
		if len(r.Claims) != len(want) || r.Claims[credential.ClaimTravelPermitNumber] != want[credential.ClaimTravelPermitNumber] ||
			r.Claims[credential.ClaimResidencePermitNumber] != want[credential.ClaimResidencePermitNumber] {
			t.Errorf("claims %v, want %v", r.Claims, want)
		}
		if r.Credential.Issuer != "https://epermit.test" || !strings.HasPrefix(r.Credential.StatusURI, "https://epermit.test/s/") {
			t.Errorf("credential info %+v", r.Credential)
		}

		mine, err := f.a.MyLinkageProofs(ctx, token)
		if err != nil || len(mine) != 1 || !bytes.Equal(mine[0].ID, c.ID) {
			t.Fatalf("my linkage proofs = %v, %v", mine, err)
		}
		if eps, _ := f.a.MyCredentials(ctx, token); len(eps) != 0 {
			t.Errorf("a linkage proof is listed as an e-permit: %v", eps)
		}
		res, err := f.a.LinkageResultByID(ctx, c.ID)
		if err != nil || !res.Valid || res.ResidencePermitNumber != chan0.ResidencePermit.Number || res.Name != "陳大文" || res.TravelPermitNumber != "H12345678" {
			t.Fatalf("result %+v, %v", res, err)
		}

		if err := f.a.CancelMine(ctx, token, c.ID); err != nil {
			t.Fatal(err)
		}
		r = verify.VerifyLinkage(ctx, f.trust(t), dbStatus{db}, pres, pol, now.Add(time.Minute))
		if r.Decision != verify.Reject || r.Code != verify.CodeRevoked {
			t.Fatalf("revoked: %s %s", r.Decision, r.Code)
		}
		res, err = f.a.LinkageResultByID(ctx, c.ID)
		if err != nil || res.Valid || res.Name != "" || res.ResidencePermitNumber != "" {
			t.Errorf("revoked result shows data: %+v, %v", res, err)
		}
		es, _ := f.a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
		if len(es) != 2 || es[1].Action != "linkage.issue" || es[0].Action != "credential.cancel" {
			t.Errorf("audit %v", es)
		}
		for _, e := range es {
			if bytes.Contains(e.Details, []byte(chan0.ResidencePermit.Number)) || bytes.Contains(e.Details, []byte("陳")) {
				t.Errorf("personal data in the audit log: %s", e.Details)
			}
		}
		if _, err := f.a.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLinkageIssuanceRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		// Issued in February 2027: Chan Tai Man's residence permit ends on
		// the 28th, so the proof does too, not 30 days on.
		f.clock.add(77 * 24 * time.Hour)
		holder := newDevice(t)
		c, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", &holder.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if end := (permit.Date{Year: 2027, Month: 2, Day: 28}).End(); !c.ExpiresAt.Equal(end) {
			t.Errorf("exp %v, want the residence permit's end %v", c.ExpiresAt, end)
		}
		s, err := credential.ParseSDJWT(string(c.Token))
		if err != nil || !s.Expiry.Equal(c.ExpiresAt) {
			t.Fatalf("token exp %v, %v", s, err)
		}

		noRP, withRP := -1, []int{}
		for i, r := range f.recs[1:] {
			switch {
			case r.TravelPermits[0].Status != permit.StatusValid:
			case r.ResidencePermit == nil && noRP < 0:
				noRP = i + 1
			case r.ResidencePermit != nil:
				withRP = append(withRP, i+1)
			}
		}
		if noRP < 0 || len(withRP) < 2 {
			t.Fatal("the demo registry lacks the records this test needs")
		}
		lost, rpCancelled := f.recs[withRP[0]], f.recs[withRP[1]]
		lost.TravelPermits[0].Status = permit.StatusReportedLost
		f.reimport(t, lost)
		rp := *rpCancelled.ResidencePermit
		rp.Status = permit.StatusCancelled
		rpCancelled.ResidencePermit = &rp
		f.reimport(t, rpCancelled)

		tests := []struct {
			name string
			rec  permit.Record
			code permit.Code
		}{
			{"no residence permit", f.recs[noRP], permit.ECodeNotLinkable},
			{"travel permit reported lost", lost, permit.ECodeNotLinkable},
			{"residence permit cancelled", rpCancelled, permit.ECodeNotLinkable},
		}
		for _, tc := range tests {
			tp := tc.rec.TravelPermits[0]
			_, err := f.a.IssueLinkageAtCounter(ctx, tp.Type, tp.Number, &holder.key.PublicKey)
			if permit.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if _, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H99999999", &holder.key.PublicKey); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("unknown permit: %v", err)
		}
	})
}

func TestCheckLinkage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "Bank of Somewhere", "bank")
		if err != nil {
			t.Fatal(err)
		}
		gate, _, _ := f.a.AddClient(ctx, permit.RoleVerifier, "Gate 1", "railway")
		chan0 := f.recs[0]
		var other permit.Record // someone else with a residence permit
		for _, r := range f.recs[1:] {
			if r.ResidencePermit != nil && r.TravelPermits[0].Status == permit.StatusValid {
				other = r
				break
			}
		}
		expired := f.recs[3]
		if expired.ResidencePermit == nil {
			expired = other
		}
		rp := *expired.ResidencePermit
		rp.ExpiresOn = permit.Date{Year: 2026, Month: 1, Day: 31}
		rp.IssuedOn = permit.Date{Year: 2021, Month: 2, Day: 1}
		expired.ResidencePermit = &rp
		f.reimport(t, expired)

		q := func(tp permit.TravelPermit, rpn, name string) authority.LinkageCheck {
			return authority.LinkageCheck{TravelPermitType: tp.Type, TravelPermitNumber: tp.Number, ResidencePermitNumber: rpn,
				Name: name, Purpose: "account opening KYC"}
		}
		c0, o := chan0.TravelPermits[0], other.TravelPermits[0]
		// An unknown but well-formed residence permit number.
		unknownRP := "810000199001019995"
		if ch, _ := permit.CheckCharacter(unknownRP[:17]); ch != unknownRP[17] {
			unknownRP = unknownRP[:17] + string(ch)
		}
		tests := []struct {
			name   string
			q      authority.LinkageCheck
			linked bool
		}{
			{"linked", q(c0, chan0.ResidencePermit.Number, ""), true},
			{"linked, Chinese name", q(c0, chan0.ResidencePermit.Number, "陳大文"), true},
			{"linked, latin name any case", q(c0, chan0.ResidencePermit.Number, "chan,  tai man"), true},
			{"name differs", q(c0, chan0.ResidencePermit.Number, "王小明"), false},
			{"different people", q(c0, other.ResidencePermit.Number, ""), false},
			{"unknown travel permit", q(permit.TravelPermit{Type: permit.HKHomeReturnPermit, Number: "H99999999"}, chan0.ResidencePermit.Number, ""), false},
			{"unknown residence permit", q(c0, unknownRP, ""), false},
			{"expired residence permit", q(expired.TravelPermits[0], expired.ResidencePermit.Number, ""), false},
			{"other person linked", q(o, other.ResidencePermit.Number, ""), true},
		}
		refs := map[string]bool{}
		for _, tc := range tests {
			ans, err := f.a.CheckLinkage(ctx, bank, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if ans.Linked != tc.linked || !strings.HasPrefix(ans.Reference, "LC-") || refs[ans.Reference] {
				t.Errorf("%s: %+v, want linked=%v and a fresh reference", tc.name, ans, tc.linked)
			}
			refs[ans.Reference] = true
			rec, err := f.a.LinkageCheckByReference(ctx, ans.Reference)
			if err != nil || rec.Institution != "Bank of Somewhere" {
				t.Fatalf("%s: lookup %+v, %v", tc.name, rec, err)
			}
			var det map[string]any
			json.Unmarshal(rec.Details, &det)
			if det["purpose"] != "account opening KYC" || det["linked"] != tc.linked || det["travel_permit"] != tc.q.TravelPermitType.String()+":"+tc.q.TravelPermitNumber {
				t.Errorf("%s: audit details %v", tc.name, det)
			}
			if tc.q.Name != "" && bytes.Contains(rec.Details, []byte(tc.q.Name)) {
				t.Errorf("%s: the name is in the audit log: %s", tc.name, rec.Details)
			}
		}

		invalid := []struct {
			name  string
			q     authority.LinkageCheck
			field string
		}{
			{"bad travel permit number", q(permit.TravelPermit{Type: permit.HKHomeReturnPermit, Number: "M12345678"}, chan0.ResidencePermit.Number, ""), "travel_permit_number"},
			{"no type", q(permit.TravelPermit{Number: "H12345678"}, chan0.ResidencePermit.Number, ""), "travel_permit_type"},
			{"bad check character", q(c0, chan0.ResidencePermit.Number[:17]+"0", ""), "residence_permit_number"},
			{"mainland ID number", q(c0, "11010519491231002X", ""), "residence_permit_number"},
			{"short residence number", q(c0, "81000019", ""), "residence_permit_number"},
			{"name with control characters", q(c0, chan0.ResidencePermit.Number, "a\x00b"), "name"},
			{"no purpose", authority.LinkageCheck{TravelPermitType: c0.Type, TravelPermitNumber: c0.Number, ResidencePermitNumber: chan0.ResidencePermit.Number}, "purpose"},
			{"long purpose", authority.LinkageCheck{TravelPermitType: c0.Type, TravelPermitNumber: c0.Number, ResidencePermitNumber: chan0.ResidencePermit.Number, Purpose: strings.Repeat("x", 201)}, "purpose"},
		}
		for _, tc := range invalid {
			_, err := f.a.CheckLinkage(ctx, bank, tc.q)
			var pe *permit.Error
			if permit.ErrorCode(err) != permit.ECodeInvalid || !errorsAs(err, &pe) || len(pe.Problems) == 0 || pe.Problems[0].Field != tc.field {
				t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
			}
		}
		if _, err := f.a.CheckLinkage(ctx, gate, q(c0, chan0.ResidencePermit.Number, "")); permit.ErrorCode(err) != "forbidden" {
			t.Errorf("a verifier checked linkage: %v", err)
		}
		if _, err := f.a.LinkageCheckByReference(ctx, "LC-AAAAAAAAAAAAAAAAAAAA"); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("unknown reference: %v", err)
		}
		if _, err := f.a.LinkageCheckByReference(ctx, "cti:00"); permit.ErrorCode(err) != permit.ECodeInvalid {
			t.Errorf("malformed reference: %v", err)
		}
	})
}

func errorsAs(err error, pe **permit.Error) bool { return errors.As(err, pe) }

// A linkage proof has no portrait: a verifier asking for one by its id hears
// the same as for an unknown id.
func TestLinkageHasNoPortrait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		c, err := f.linkage(t, f.prove(t, f.recs[0]), newDevice(t))
		if err != nil {
			t.Fatal(err)
		}
		gate, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate", "railway")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Portrait(ctx, gate, c.ID); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("portrait of a linkage proof: %v; want %s", err, permit.ECodeNotFound)
		}
	})
}

// A re-issue for the same holder key supersedes the proof before it; a
// proof for another device stays; the store refuses a second live proof
// per person and key even when the rule is bypassed.
func TestLinkageReissueSupersedes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		phone, tablet := newDevice(t), newDevice(t)
		first, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", &phone.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", &tablet.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		second, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", &phone.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]permit.Credential{}
		db.View(ctx, func(tx *store.Tx) error {
			cs, err := tx.Credentials(ctx, first.PersonID, permit.LinkageProofKind, false)
			for _, c := range cs {
				states[hex.EncodeToString(c.ID)] = c
			}
			return err
		})
		if c := states[hex.EncodeToString(first.ID)]; c.State != permit.CredentialRevoked || c.StateReason != "superseded by "+hex.EncodeToString(second.ID) {
			t.Errorf("first proof: %s %q, want revoked, superseded by the second", c.State, c.StateReason)
		}
		for _, c := range []*permit.Credential{other, second} {
			if s := states[hex.EncodeToString(c.ID)].State; s != permit.CredentialActive {
				t.Errorf("proof %x: %s, want active", c.ID, s)
			}
		}
		ev, _ := f.a.AuditEvents(ctx, "cti:"+hex.EncodeToString(first.ID))
		if len(ev) == 0 || ev[0].Action != "credential.supersede" {
			t.Errorf("first proof's audit trail: %+v", ev)
		}
		raw := storetest.SQL(t, db)
		if _, err := raw.Exec(`UPDATE credentials SET state = 'active' WHERE cti = $1`, first.ID); err == nil {
			t.Error("the store let two proofs for one person and holder key be live")
		}
	})
}
