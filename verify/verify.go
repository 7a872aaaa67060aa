package verify

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"time"

	"github.com/epermit/epermit/credential"
)

// Use is what the holder is being checked for: the scope the gate asks for
// (spec §4 check 11).
type Use string

// Uses a gate can ask for.
const (
	UseFlight Use = "flight" // domestic flights, scope 1
	UseTrain  Use = "train"  // domestic trains, scope 2
	UseBorder Use = "border" // border control, scope 3: never issued under today's policy
)

// ParseUse reads a use by name.
func ParseUse(s string) (Use, error) {
	switch u := Use(s); u {
	case UseFlight, UseTrain, UseBorder:
		return u, nil
	}
	return "", errors.New("verify: use must be flight, train or border")
}

func (u Use) scope() credential.Scope {
	switch u {
	case UseFlight:
		return credential.ScopeFlight
	case UseTrain:
		return credential.ScopeTrain
	case UseBorder:
		return credential.ScopeBorder
	}
	return 0
}

// Decision is the verifier's answer.
type Decision string

// Decisions. AcceptWithWarning is an accepted presentation with something
// the staff should know, such as a status list that could not be checked.
const (
	Accept            Decision = "accept"
	Reject            Decision = "reject"
	AcceptWithWarning Decision = "accept_with_warning"
)

// Code is a spec §4 failure code, or a warning code.
type Code string

// Failure codes of spec §4, in the order of the checks, and the warning.
const (
	CodeFormat         Code = "format"
	CodeUnknownKey     Code = "unknown_key"
	CodeAlgorithm      Code = "algorithm"
	CodeBadSignature   Code = "bad_signature"
	CodeNotYetValid    Code = "not_yet_valid"
	CodeExpired        Code = "expired"
	CodeBadHolderProof Code = "bad_holder_proof"
	CodeStaleProof     Code = "stale_proof"
	CodeReplayed       Code = "replayed"
	CodeScope          Code = "scope"
	CodeRevoked        Code = "revoked"
	CodeSuspended      Code = "suspended"

	// WarnStatusUnknown: no fresh status list could be had, so the
	// credential's revocation state is not known. Never a rejection.
	WarnStatusUnknown Code = "status_unknown"
)

// messages say each code in words a gate can show.
var messages = map[Code]string{
	CodeFormat:         "This is not an e-permit QR code, or it is damaged.",
	CodeUnknownKey:     "The e-permit was signed by a key this verifier does not trust.",
	CodeAlgorithm:      "The e-permit uses a signature algorithm that is not allowed.",
	CodeBadSignature:   "The e-permit's issuer signature is not valid: it may have been altered.",
	CodeNotYetValid:    "The e-permit is not valid yet.",
	CodeExpired:        "The e-permit has expired.",
	CodeBadHolderProof: "The QR code was not made by the device the e-permit was issued to.",
	CodeStaleProof:     "The QR code is too old: ask the holder to show the live code on their phone.",
	CodeReplayed:       "This QR code has already been scanned: ask the holder to show the live code.",
	CodeScope:          "The e-permit is not valid for this use.",
	CodeRevoked:        "The e-permit has been revoked.",
	CodeSuspended:      "The e-permit is suspended.",
	WarnStatusUnknown:  "Whether the e-permit has been revoked could not be checked (no fresh status list).",

	CodeTrustListFormat:      "The trust list is damaged or not a trust list.",
	CodeTrustListSignature:   "The trust list was not signed by the root this verifier is configured with.",
	CodeTrustListExpired:     "This verifier's trust list has expired: it needs a fresh one from the authority.",
	CodeTrustListNotYetValid: "The trust list is dated in the future: check this device's clock.",
	CodeTrustListRollback:    "The trust list is older than the one this verifier holds.",
	CodeKeyRevoked:           "The e-permit was signed by an issuer key the authority has withdrawn.",
	CodeKeyNotValid:          "The e-permit was signed by an issuer key outside its certificate's validity.",
}

// Message returns the code in words.
func (c Code) Message() string { return messages[c] }

// Keys finds trusted issuer keys by kid (base64url text). *TrustList and
// *TrustUpdater are Keys, and KeyCheckers, which the verifier prefers: they
// apply the key-use rules of a signed trust list (spec §1.2).
type Keys interface {
	Key(kid string) (*ecdsa.PublicKey, bool)
}

// StatusSource looks up a credential's status list entry as of now and says
// when the authority issued the list it used (its iat); *StatusCache is one.
// The verifier takes the list's age from that iat (spec §4 check 12), so a
// source cannot make an old list look fresh by having fetched it recently.
// Any failure to get a list it trusts must be an error: the verifier turns
// errors into the warning status_unknown, never into a rejection.
type StatusSource interface {
	Status(ctx context.Context, uri string, idx uint64, now time.Time) (value StatusValue, issuedAt time.Time, err error)
}

// Policy is how strict a verifier is.
type Policy struct {
	// Use is what the holder is checked for.
	Use Use
	// ProofWindow is how far the proof's iat may be from now (default 60 s):
	// a screenshot stops working after it.
	ProofWindow time.Duration
	// Skew is the clock difference allowed around nbf and exp, and how far
	// a status list's iat may be ahead of now (default 5 min).
	Skew time.Duration
	// MaxStatusAge, when set, is the oldest status list accepted, by its age
	// now − iat; an older one gives the warning status_unknown. The status
	// source applies the list's own ttl and exp in any case.
	MaxStatusAge time.Duration
}

// Defaults of spec §4.
const (
	DefaultProofWindow = 60 * time.Second
	DefaultSkew        = 5 * time.Minute
)

func (p Policy) withDefaults() Policy {
	if p.ProofWindow <= 0 {
		p.ProofWindow = DefaultProofWindow
	}
	if p.Skew <= 0 {
		p.Skew = DefaultSkew
	}
	return p
}

// Verifier checks EP1 presentations (spec §4). Its fields may be shared by
// several verifiers, e.g. one per use with the same replay cache.
type Verifier struct {
	Keys Keys
	// Status, when nil, is never consulted and every accepted presentation
	// carries the warning status_unknown.
	Status StatusSource
	// Replay remembers presentations already seen (check 10). Required.
	Replay *ReplayCache
	Policy Policy
}

// New returns a verifier with a replay cache sized for a busy gate.
func New(keys Keys, status StatusSource, p Policy) *Verifier {
	return &Verifier{Keys: keys, Status: status, Replay: NewReplayCache(DefaultReplayCapacity), Policy: p}
}

// Result is what a verification decided and why.
type Result struct {
	Decision Decision `json:"decision"`
	// Code is the failing check's code when rejected.
	Code Code `json:"code,omitempty"`
	// Message says the code, or the first warning, in words.
	Message  string    `json:"message,omitempty"`
	Warnings []Code    `json:"warnings,omitempty"`
	Use      Use       `json:"use"`
	At       time.Time `json:"checked_at"`
	// Credential is set once the issuer signature has verified, so that a
	// gate can show e.g. when an expired e-permit ran out; never for data
	// nobody vouches for.
	Credential *Info `json:"credential,omitempty"`
	// Holder is set only for accepted presentations.
	Holder *Holder `json:"holder,omitempty"`
}

// Accepted reports whether the presentation was accepted, with or without
// warnings.
func (r *Result) Accepted() bool { return r.Decision != Reject }

// Info is the credential's metadata.
type Info struct {
	ID            string    `json:"cti"` // hex
	Issuer        string    `json:"issuer"`
	Kid           string    `json:"kid"`
	IssuedAt      time.Time `json:"issued_at"`
	NotBefore     time.Time `json:"not_before"`
	Expires       time.Time `json:"expires"`
	ProofIssuedAt time.Time `json:"proof_issued_at"`
	StatusURI     string    `json:"status_uri"`
	StatusIndex   uint64    `json:"status_index"`
	// StatusAge is the age in seconds of the status list used, now − its
	// iat (never below zero); absent when none was.
	StatusAge *float64 `json:"status_age_seconds,omitempty"`
}

// Holder is the holder and document data a gate shows.
type Holder struct {
	DocumentType   string `json:"document_type"` // hk, mo or tw
	DocumentNumber string `json:"document_number"`
	Name           string `json:"name"`
	LatinName      string `json:"latin_name"`
	Sex            string `json:"sex"` // male, female or unknown
	BirthDate      string `json:"birth_date"`
	Scopes         []Use  `json:"scopes"`
	Reason         string `json:"reason"` // lost, damaged or forgotten
	Kind           uint   `json:"kind"`
	PortraitDigest string `json:"portrait_digest"` // hex; compare with the portrait fetched online
}

// Verify runs the checks of spec §4 in order on scanned QR text as of now
// and reports the first that fails, or the decision with its warnings and
// the holder data.
func (v *Verifier) Verify(ctx context.Context, text string, now time.Time) *Result {
	p := v.Policy.withDefaults()
	r := &Result{Use: p.Use, At: now.UTC()}

	// Checks 1–3.
	pr, err := credential.ParseQR(text)
	if err != nil {
		return r.reject(CodeFormat)
	}
	cred := &pr.Credential
	claims := &cred.Claims
	// Check 4.
	if cred.Kid == nil {
		return r.reject(CodeUnknownKey)
	}
	key, code := LookupKey(v.Keys, cred.KidText(), claims.IssuedAt, now, p.Skew)
	if code != "" {
		return r.reject(code)
	}
	// Checks 5 and 6.
	if err := pr.CheckAlgorithms(); err != nil {
		return r.reject(CodeAlgorithm)
	}
	if err := pr.VerifyIssuer(key); err != nil {
		return r.reject(codeOf(err, CodeBadSignature))
	}
	r.Credential = &Info{
		ID:            hex.EncodeToString(claims.ID[:]),
		Issuer:        claims.Issuer,
		Kid:           cred.KidText(),
		IssuedAt:      claims.IssuedAt.UTC(),
		NotBefore:     claims.NotBefore.UTC(),
		Expires:       claims.Expiry.UTC(),
		ProofIssuedAt: pr.ProofIssuedAt,
		StatusURI:     claims.Status.URI,
		StatusIndex:   claims.Status.Idx,
	}
	// Check 7.
	if now.Before(claims.NotBefore.Add(-p.Skew)) {
		return r.reject(CodeNotYetValid)
	}
	if !now.Before(claims.Expiry.Add(p.Skew)) {
		return r.reject(CodeExpired)
	}
	// Check 8.
	if err := pr.VerifyHolderProof(); err != nil {
		return r.reject(codeOf(err, CodeBadHolderProof))
	}
	// Check 9.
	if d := now.Sub(pr.ProofIssuedAt); d > p.ProofWindow || d < -p.ProofWindow {
		return r.reject(CodeStaleProof)
	}
	// Check 10: a proof can only be replayed while it is fresh, so the cache
	// need hold it only until then.
	if v.Replay.Seen(claims.ID, pr.ProofIssuedAt, now, pr.ProofIssuedAt.Add(p.ProofWindow+time.Second)) {
		return r.reject(CodeReplayed)
	}
	// Check 11.
	if p.Use.scope() == 0 || !claims.Permit.HasScope(p.Use.scope()) {
		return r.reject(CodeScope)
	}
	// Check 12.
	code, unknown, age := checkStatus(ctx, v.Status, claims.Status.URI, claims.Status.Idx, now, p.Skew, p.MaxStatusAge)
	r.Credential.StatusAge = age
	if code != "" {
		return r.reject(code)
	}
	if unknown {
		r.warn(WarnStatusUnknown)
	}
	if len(r.Warnings) > 0 {
		r.Decision = AcceptWithWarning
		r.Message = r.Warnings[0].Message()
	} else {
		r.Decision = Accept
	}
	r.Holder = holderOf(&claims.Permit)
	return r
}

// checkStatus is the status check both kinds of verification end with: a
// code to reject with, or whether the status is unknown (a warning, never a
// rejection), and the age in seconds of the list used. A list's age is now −
// its iat, never below zero; a list whose iat is later than now + skew is not
// trusted, and one older than maxAge (when set) is not used.
func checkStatus(ctx context.Context, src StatusSource, uri string, idx uint64, now time.Time, skew, maxAge time.Duration) (reject Code, unknown bool, age *float64) {
	if src == nil {
		return "", true, nil
	}
	st, iat, err := src.Status(ctx, uri, idx, now)
	if err != nil || iat.After(now.Add(skew)) {
		return "", true, nil
	}
	a := max(now.Sub(iat), 0)
	secs := a.Seconds()
	switch {
	case maxAge > 0 && a > maxAge:
		return "", true, &secs
	case st == StatusRevoked:
		return CodeRevoked, false, &secs
	case st == StatusSuspended:
		return CodeSuspended, false, &secs
	case st != StatusValid:
		// Values 3 and up are not defined for these lists: unknown, not revoked.
		return "", true, &secs
	}
	return "", false, &secs
}

func (r *Result) reject(c Code) *Result {
	r.Decision, r.Code, r.Message = Reject, c, c.Message()
	return r
}

func (r *Result) warn(c Code) { r.Warnings = append(r.Warnings, c) }

// codeOf maps the credential package's signature errors to codes.
func codeOf(err error, otherwise Code) Code {
	if errors.Is(err, credential.ErrAlgorithm) {
		return CodeAlgorithm
	}
	return otherwise
}

func holderOf(p *credential.Permit) *Holder {
	h := &Holder{
		DocumentNumber: p.DocumentNumber,
		Name:           p.Name,
		LatinName:      p.LatinName,
		BirthDate:      p.BirthDate,
		Kind:           uint(p.Kind),
		PortraitDigest: hex.EncodeToString(p.PortraitDigest[:]),
		Scopes:         []Use{},
	}
	switch p.DocumentType {
	case credential.DocHomeReturnPermitHK:
		h.DocumentType = "hk"
	case credential.DocHomeReturnPermitMacau:
		h.DocumentType = "mo"
	case credential.DocTaiwanResidentsPermit:
		h.DocumentType = "tw"
	}
	switch p.Sex {
	case credential.SexMale:
		h.Sex = "male"
	case credential.SexFemale:
		h.Sex = "female"
	default:
		h.Sex = "unknown"
	}
	for _, s := range p.Scopes {
		for _, u := range []Use{UseFlight, UseTrain, UseBorder} {
			if u.scope() == s {
				h.Scopes = append(h.Scopes, u)
			}
		}
	}
	switch p.Reason {
	case credential.ReasonLost:
		h.Reason = "lost"
	case credential.ReasonDamaged:
		h.Reason = "damaged"
	case credential.ReasonForgotten:
		h.Reason = "forgotten"
	}
	return h
}
