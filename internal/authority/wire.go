package authority

import (
	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/permit"
)

// The bridge between the domain's enums and the wire format's. Both
// packages declare kind, document type, sex, scope and reason: permit for
// the rules, credential for spec §2's integers, which third parties decode
// without the domain. This file is the only place the two meet; every
// other conversion goes through these functions, never a numeric cast, and
// wire_test.go pins every pair.

// pair is one value in both vocabularies.
type pair[D, W comparable] struct {
	domain D
	wire   W
}

var (
	kindPairs = []pair[permit.Kind, credential.Kind]{
		{permit.TemporaryEPermit, credential.KindTemporaryEPermit},
		{permit.ElectronicPermit, credential.KindElectronicPermit},
	}
	documentTypePairs = []pair[permit.DocumentType, credential.DocumentType]{
		{permit.HKHomeReturnPermit, credential.DocHomeReturnPermitHK},
		{permit.MOHomeReturnPermit, credential.DocHomeReturnPermitMacau},
		{permit.TWTravelPermit, credential.DocTaiwanResidentsPermit},
	}
	sexPairs = []pair[permit.Sex, credential.Sex]{
		{permit.Male, credential.SexMale},
		{permit.Female, credential.SexFemale},
	}
	scopePairs = []pair[permit.Scope, credential.Scope]{
		{permit.ScopeFlight, credential.ScopeFlight},
		{permit.ScopeTrain, credential.ScopeTrain},
		{permit.ScopeBorder, credential.ScopeBorder},
	}
	reasonPairs = []pair[permit.Reason, credential.Reason]{
		{permit.ReasonLost, credential.ReasonLost},
		{permit.ReasonDamaged, credential.ReasonDamaged},
		{permit.ReasonForgotten, credential.ReasonForgotten},
	}
)

// toWire is d's wire value, or the zero value (no spec value) for a
// domain value without one.
func toWire[D, W comparable](pairs []pair[D, W], d D) W {
	for _, p := range pairs {
		if p.domain == d {
			return p.wire
		}
	}
	var zero W
	return zero
}

// toDomain is w's domain value, or the zero value for a wire value the
// domain does not know.
func toDomain[D, W comparable](pairs []pair[D, W], w W) D {
	for _, p := range pairs {
		if p.wire == w {
			return p.domain
		}
	}
	var zero D
	return zero
}

// WireKind is the credential kind of spec §2 for k.
func WireKind(k permit.Kind) credential.Kind { return toWire(kindPairs, k) }

// WireDocumentType is the document type of spec §2 for t.
func WireDocumentType(t permit.DocumentType) credential.DocumentType {
	return toWire(documentTypePairs, t)
}

// WireSex is the ISO/IEC 5218 code for s; SexNotKnown for anything else.
func WireSex(s permit.Sex) credential.Sex { return toWire(sexPairs, s) }

// WireScope is the scope of spec §2 for s.
func WireScope(s permit.Scope) credential.Scope { return toWire(scopePairs, s) }

// WireScopes converts a list of scopes, keeping its order.
func WireScopes(ss []permit.Scope) []credential.Scope {
	out := make([]credential.Scope, len(ss))
	for i, s := range ss {
		out[i] = WireScope(s)
	}
	return out
}

// WireReason is the reason of spec §2 for r.
func WireReason(r permit.Reason) credential.Reason { return toWire(reasonPairs, r) }

// DomainDocumentType is the domain's document type for a credential's, or
// 0 for a value spec §2 does not define.
func DomainDocumentType(t credential.DocumentType) permit.DocumentType {
	return toDomain(documentTypePairs, t)
}

// DomainSex is the domain's sex for a credential's ISO/IEC 5218 code, or 0
// for "not known" and "not applicable".
func DomainSex(s credential.Sex) permit.Sex { return toDomain(sexPairs, s) }

// DomainScope is the domain's scope for a credential's, or 0 for a value
// spec §2 does not define.
func DomainScope(s credential.Scope) permit.Scope { return toDomain(scopePairs, s) }
