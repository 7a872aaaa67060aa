package verify

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/epermit/epermit/credential"
)

// Linkage proofs (spec §6) are SD-JWT VCs that a bank, telecom or internet
// service checks when a holder presents one: the issuer's signature, the
// disclosures against their digests, and the holder's key binding to the
// institution's own audience id and challenge. VerifyLinkage returns only
// the claims the holder chose to disclose.

// Failure codes of linkage verification beyond those shared with the
// e-permit (format, unknown_key, algorithm, bad_signature, not_yet_valid,
// expired, bad_holder_proof, stale_proof, revoked, suspended).
const (
	CodeTyp          Code = "typ"           // the issuer JWT is not typ dc+sd-jwt, or the KB-JWT not kb+jwt
	CodeVCT          Code = "vct"           // not a linkage proof (vct)
	CodeDisclosure   Code = "disclosure"    // a disclosure altered, unreferenced, repeated or shadowing a claim
	CodeMissingClaim Code = "missing_claim" // a claim the institution requires was not disclosed
	CodeAudience     Code = "aud"           // the KB-JWT was made for another institution
	CodeNonce        Code = "nonce"         // the KB-JWT answers another challenge
	CodeSDHash       Code = "sd_hash"       // the KB-JWT does not cover these disclosures
)

var linkageMessages = map[Code]string{
	CodeFormat:           "This is not a linkage proof, or it is damaged.",
	CodeUnknownKey:       "The linkage proof was signed by a key this verifier does not trust.",
	CodeAlgorithm:        "The linkage proof uses an algorithm that is not allowed.",
	CodeBadSignature:     "The linkage proof's issuer signature is not valid: it may have been altered.",
	CodeTyp:              "The linkage proof or its holder binding has the wrong type.",
	CodeVCT:              "This credential is not a permit linkage proof.",
	CodeNotYetValid:      "The linkage proof is not valid yet.",
	CodeExpired:          "The linkage proof has expired.",
	CodeDisclosure:       "A disclosed item does not match what the authority signed.",
	CodeBadHolderProof:   "The linkage proof was not presented by the device it was issued to.",
	CodeAudience:         "The linkage proof was presented for another institution.",
	CodeNonce:            "The linkage proof does not answer this institution's challenge.",
	CodeSDHash:           "The holder's binding does not cover the items presented.",
	CodeStaleProof:       "The presentation is too old: ask the holder to present again.",
	CodeMissingClaim:     "The holder did not disclose an item this check requires.",
	CodeRevoked:          "The linkage proof has been revoked.",
	CodeSuspended:        "The linkage proof is suspended.",
	WarnStatusUnknown:    "Whether the linkage proof has been revoked could not be checked (no fresh status list).",
	CodeTrustListExpired: "This verifier's trust list has expired: it needs a fresh one from the authority.",
	CodeKeyRevoked:       "The linkage proof was signed by an issuer key the authority has withdrawn.",
	CodeKeyNotValid:      "The linkage proof was signed by an issuer key outside its certificate's validity.",
}

// LinkagePolicy is what an institution expects of a presentation.
type LinkagePolicy struct {
	// Audience is the institution's own id, which the KB-JWT's aud must
	// equal. Required.
	Audience string
	// Nonce is the challenge the institution gave the holder for this
	// presentation. Required.
	Nonce string
	// Required lists the claims that must be disclosed (e.g.
	// travel_permit_number and residence_permit_number).
	Required []string
	// ProofWindow is how far the KB-JWT's iat may be from now (default
	// 5 min).
	ProofWindow time.Duration
	// Skew is the clock difference allowed around iat, nbf and exp, and
	// how far a status list's iat may be ahead of now (default 5 min).
	Skew time.Duration
	// MaxStatusAge, when set, is the oldest status list accepted, by its
	// age now − iat.
	MaxStatusAge time.Duration
}

// DefaultLinkageProofWindow is how fresh a KB-JWT must be by default: a
// holder presents from a phone within a session with the institution.
const DefaultLinkageProofWindow = 5 * time.Minute

// LinkageResult is what a linkage verification decided and why.
type LinkageResult struct {
	Decision Decision `json:"decision"`
	// Code is the failing check's code when rejected.
	Code     Code      `json:"code,omitempty"`
	Message  string    `json:"message,omitempty"`
	Warnings []Code    `json:"warnings,omitempty"`
	At       time.Time `json:"checked_at"`
	// Credential is set once the issuer signature has verified.
	Credential *LinkageInfo `json:"credential,omitempty"`
	// Claims holds the disclosed claims only, and only when accepted.
	Claims map[string]any `json:"claims,omitempty"`
}

// Accepted reports whether the presentation was accepted, with or without
// warnings.
func (r *LinkageResult) Accepted() bool { return r.Decision != Reject }

// LinkageInfo is the linkage proof's always-visible metadata.
type LinkageInfo struct {
	Issuer      string    `json:"issuer"`
	Kid         string    `json:"kid"`
	IssuedAt    time.Time `json:"issued_at"`
	Expires     time.Time `json:"expires"`
	ProofAt     time.Time `json:"proof_issued_at"`
	StatusURI   string    `json:"status_uri"`
	StatusIndex uint64    `json:"status_index"`
	// StatusAge is the age in seconds of the status list used, now − its
	// iat (never below zero); absent when none was.
	StatusAge *float64 `json:"status_age_seconds,omitempty"`
}

// VerifyLinkage checks a linkage presentation `<issuer-jwt>~<disclosure>~…~<kb-jwt>`
// as of now, in this order, reporting the first failure: format,
// unknown_key (with a signed trust list also trust_list_expired,
// key_revoked or key_not_valid, spec §1.2), algorithm, bad_signature, typ, vct, not_yet_valid/expired,
// disclosure, bad_holder_proof (missing or bad KB-JWT), typ of the KB-JWT,
// aud, nonce, sd_hash, stale_proof, missing_claim, and the status list
// (revoked/suspended; none to be had is the warning status_unknown). A nil
// status source is never consulted and gives that warning.
func VerifyLinkage(ctx context.Context, keys Keys, status StatusSource, text string, p LinkagePolicy, now time.Time) *LinkageResult {
	if p.ProofWindow <= 0 {
		p.ProofWindow = DefaultLinkageProofWindow
	}
	if p.Skew <= 0 {
		p.Skew = DefaultSkew
	}
	r := &LinkageResult{At: now.UTC()}
	s, err := credential.ParseSDJWT(text)
	if err != nil {
		return r.reject(CodeFormat)
	}
	key, code := LookupKey(keys, s.Kid, s.IssuedAt, now, p.Skew)
	if code != "" {
		return r.reject(code)
	}
	// The alg must be the key's: ES256 for a P-256 key, SM2 for an SM2 key.
	if err := s.VerifyIssuer(key); err != nil {
		return r.reject(codeOf(err, CodeBadSignature))
	}
	r.Credential = &LinkageInfo{Issuer: s.Issuer, Kid: s.Kid, IssuedAt: s.IssuedAt, Expires: s.Expiry,
		StatusURI: s.Status.URI, StatusIndex: s.Status.Idx}
	switch {
	case s.Typ != credential.TypSDJWT:
		return r.reject(CodeTyp)
	case s.VCT != credential.LinkageVCT:
		return r.reject(CodeVCT)
	case now.Before(s.IssuedAt.Add(-p.Skew)) || (!s.NotBefore.IsZero() && now.Before(s.NotBefore.Add(-p.Skew))):
		return r.reject(CodeNotYetValid)
	case !now.Before(s.Expiry.Add(p.Skew)):
		return r.reject(CodeExpired)
	}
	if err := s.CheckDisclosures(); err != nil {
		if errors.Is(err, credential.ErrAlgorithm) {
			return r.reject(CodeAlgorithm)
		}
		return r.reject(CodeDisclosure)
	}
	for _, d := range s.Disclosures {
		switch d.Value.(type) {
		case map[string]any, []any:
			// Spec §6 claims are all scalars; a nested object could hide
			// further _sd digests this verifier does not resolve.
			return r.reject(CodeDisclosure)
		}
	}
	if err := s.VerifyKeyBinding(); err != nil {
		if errors.Is(err, credential.ErrAlgorithm) {
			return r.reject(CodeAlgorithm)
		}
		return r.reject(CodeBadHolderProof)
	}
	kb := &s.KB.Claims
	r.Credential.ProofAt = kb.IssuedAt
	switch {
	case s.KB.Typ != credential.TypKBJWT:
		return r.reject(CodeTyp)
	case p.Audience == "" || kb.Audience != p.Audience:
		return r.reject(CodeAudience)
	case p.Nonce == "" || kb.Nonce != p.Nonce:
		return r.reject(CodeNonce)
	case !s.SDHashMatches():
		return r.reject(CodeSDHash)
	}
	if d := now.Sub(kb.IssuedAt); d > p.ProofWindow || d < -p.Skew {
		return r.reject(CodeStaleProof)
	}
	claims := make(map[string]any, len(s.Disclosures))
	for _, d := range s.Disclosures {
		claims[d.Name] = d.Value
	}
	for _, name := range p.Required {
		if _, ok := claims[name]; !ok {
			return r.reject(CodeMissingClaim)
		}
	}
	code, unknown, age := checkStatus(ctx, status, s.Status.URI, s.Status.Idx, now, p.Skew, p.MaxStatusAge)
	r.Credential.StatusAge = age
	if code != "" {
		return r.reject(code)
	}
	if unknown {
		r.warn(WarnStatusUnknown)
	}
	if len(r.Warnings) > 0 {
		r.Decision, r.Message = AcceptWithWarning, linkageMessages[r.Warnings[0]]
	} else {
		r.Decision = Accept
	}
	r.Claims = claims
	return r
}

func (r *LinkageResult) reject(c Code) *LinkageResult {
	r.Decision, r.Code, r.Message = Reject, c, linkageMessages[c]
	return r
}

func (r *LinkageResult) warn(c Code) {
	if !slices.Contains(r.Warnings, c) {
		r.Warnings = append(r.Warnings, c)
	}
}
