package authority

import (
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/permit"
)

// TestWirePairs pins every pair of the bridge, both ways, with spec §2's
// integer beside it, so that neither vocabulary drifts from the other.
func TestWirePairs(t *testing.T) {
	kinds := []struct {
		d    permit.Kind
		w    credential.Kind
		spec uint
	}{
		{permit.TemporaryEPermit, credential.KindTemporaryEPermit, 1},
		{permit.ElectronicPermit, credential.KindElectronicPermit, 2},
		{permit.LinkageProofKind, 0, 0}, // never in a CWT
	}
	for _, tc := range kinds {
		if got := WireKind(tc.d); got != tc.w || uint(got) != tc.spec {
			t.Errorf("WireKind(%d) = %d, want %d", tc.d, got, tc.w)
		}
	}
	docs := []struct {
		d    permit.DocumentType
		w    credential.DocumentType
		spec uint
	}{
		{permit.HKHomeReturnPermit, credential.DocHomeReturnPermitHK, 1},
		{permit.MOHomeReturnPermit, credential.DocHomeReturnPermitMacau, 2},
		{permit.TWTravelPermit, credential.DocTaiwanResidentsPermit, 3},
	}
	for _, tc := range docs {
		if got := WireDocumentType(tc.d); got != tc.w || uint(got) != tc.spec {
			t.Errorf("WireDocumentType(%s) = %d, want %d", tc.d, got, tc.w)
		}
		if got := DomainDocumentType(tc.w); got != tc.d {
			t.Errorf("DomainDocumentType(%d) = %s, want %s", tc.w, got, tc.d)
		}
	}
	sexes := []struct {
		d    permit.Sex
		w    credential.Sex
		spec uint
	}{
		{permit.Male, credential.SexMale, 1},
		{permit.Female, credential.SexFemale, 2},
		{0, credential.SexNotKnown, 0},
	}
	for _, tc := range sexes {
		if got := WireSex(tc.d); got != tc.w || uint(got) != tc.spec {
			t.Errorf("WireSex(%d) = %d, want %d", tc.d, got, tc.w)
		}
		if got := DomainSex(tc.w); got != tc.d {
			t.Errorf("DomainSex(%d) = %d, want %d", tc.w, got, tc.d)
		}
	}
	if got := DomainSex(credential.SexNotApplicable); got != 0 {
		t.Errorf("DomainSex(not applicable) = %d, want 0", got)
	}
	scopes := []struct {
		d    permit.Scope
		w    credential.Scope
		spec uint
	}{
		{permit.ScopeFlight, credential.ScopeFlight, 1},
		{permit.ScopeTrain, credential.ScopeTrain, 2},
		{permit.ScopeBorder, credential.ScopeBorder, 3},
	}
	for _, tc := range scopes {
		if got := WireScope(tc.d); got != tc.w || uint(got) != tc.spec {
			t.Errorf("WireScope(%d) = %d, want %d", tc.d, got, tc.w)
		}
		if got := DomainScope(tc.w); got != tc.d {
			t.Errorf("DomainScope(%d) = %d, want %d", tc.w, got, tc.d)
		}
	}
	if got := DomainScope(4); got != 0 {
		t.Errorf("DomainScope(4) = %d, want 0", got)
	}
	reasons := []struct {
		d    permit.Reason
		w    credential.Reason
		spec uint
	}{
		{permit.ReasonLost, credential.ReasonLost, 1},
		{permit.ReasonDamaged, credential.ReasonDamaged, 2},
		{permit.ReasonForgotten, credential.ReasonForgotten, 3},
	}
	for _, tc := range reasons {
		if got := WireReason(tc.d); got != tc.w || uint(got) != tc.spec {
			t.Errorf("WireReason(%s) = %d, want %d", tc.d, got, tc.w)
		}
	}
	if got := WireScopes([]permit.Scope{permit.ScopeTrain, permit.ScopeFlight}); len(got) != 2 ||
		got[0] != credential.ScopeTrain || got[1] != credential.ScopeFlight {
		t.Errorf("WireScopes = %v", got)
	}
}
