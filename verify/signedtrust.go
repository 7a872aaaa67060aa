package verify

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/epermit/epermit/credential/pki"
)

// Codes of the signed trust list (spec/formats.md §1.2): why a list was not
// accepted, and why a key of an accepted list may not be used.
const (
	CodeTrustListFormat      Code = "trust_list_format"        // not a well-formed list
	CodeTrustListSignature   Code = "trust_list_signature"     // not signed by the root held, or a key certificate not issued by it
	CodeTrustListExpired     Code = "trust_list_expired"       // the list is past its exp: get a fresh one
	CodeTrustListNotYetValid Code = "trust_list_not_yet_valid" // the list's iat is later than now + skew
	CodeTrustListRollback    Code = "trust_list_rollback"      // the list's seq is lower than the list held
	CodeKeyRevoked           Code = "key_revoked"              // the authority withdrew the issuer key
	CodeKeyNotValid          Code = "key_not_valid"            // used outside its certificate's validity or usage period
)

// TrustListError is why a signed trust list was not accepted: one of the
// trust_list_* codes, and the detail for logs.
type TrustListError struct {
	Code Code
	Msg  string
}

// Error gives the code and the detail.
func (e *TrustListError) Error() string { return "verify: " + string(e.Code) + ": " + e.Msg }

func listErr(c Code, format string, args ...any) error {
	return &TrustListError{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// signedList is what a list signed by a root adds to a TrustList.
type signedList struct {
	root     *pki.Certificate // the anchor for the next list: the root, or the new root after a rollover
	certs    map[string]*pki.Certificate
	revoked  map[string]time.Time
	seq      uint64
	issuedAt time.Time
	expiry   time.Time
	issuer   string
	doc      []byte
}

// ParseSignedTrustList accepts a trust list signed by a root (spec §1.2) as
// of now, with the default skew: well-formed; signed by root, or by a new
// root that root cross-certified (held's root, after such a rollover, takes
// the place of root); every key certified by the signing root; current;
// and, when held is a signed list, a seq not lower than held's. An equal
// seq returns held itself. Failures are *TrustListError.
func ParseSignedTrustList(data []byte, root *pki.Certificate, held *TrustList, source string, now time.Time) (*TrustList, error) {
	skew := DefaultSkew
	anchor := root
	if held != nil && held.signed != nil {
		anchor = held.signed.root
	}
	if anchor == nil {
		return nil, listErr(CodeTrustListSignature, "no root configured")
	}
	l, err := pki.ParseTrustList(data)
	if err != nil {
		return nil, listErr(CodeTrustListFormat, "%s: %v", source, err)
	}
	signer, err := l.Verify(now, skew, anchor)
	if err != nil {
		return nil, listErr(CodeTrustListSignature, "%s: %v", source, err)
	}
	switch {
	case l.IssuedAt.After(now.Add(skew)):
		return nil, listErr(CodeTrustListNotYetValid, "%s: issued at %s", source, l.IssuedAt.Format(time.RFC3339))
	case !now.Before(l.Expiry.Add(skew)):
		return nil, listErr(CodeTrustListExpired, "%s: expired at %s", source, l.Expiry.Format(time.RFC3339))
	}
	if held != nil && held.signed != nil {
		switch {
		case l.Seq < held.signed.seq:
			return nil, listErr(CodeTrustListRollback, "%s: seq %d is lower than the %d held", source, l.Seq, held.signed.seq)
		case l.Seq == held.signed.seq:
			return held, nil
		}
	}
	s := &signedList{root: signer, certs: make(map[string]*pki.Certificate, len(l.Keys)),
		revoked: make(map[string]time.Time, len(l.Revoked)), seq: l.Seq, issuedAt: l.IssuedAt,
		expiry: l.Expiry, issuer: l.Issuer, doc: bytes.Clone(data)}
	keys := make(map[string]*ecdsa.PublicKey, len(l.Keys))
	for _, k := range l.Keys {
		keys[k.JWK.Kid] = k.Certificate.PublicKey
		s.certs[k.JWK.Kid] = k.Certificate
	}
	for _, r := range l.Revoked {
		s.revoked[r.Kid] = r.RevokedAt
	}
	return &TrustList{keys: keys, source: source, updated: now, signed: s}, nil
}

// ParseRoot reads a root certificate (PEM or DER) a verifier is configured
// with: a self-signed CA certificate of the profile of spec §1.2.
func ParseRoot(data []byte) (*pki.Certificate, error) {
	der, err := pki.DecodePEM(data, pki.PEMCertificate)
	if err != nil {
		return nil, fmt.Errorf("verify: root: %w", err)
	}
	c, err := pki.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("verify: root: %w", err)
	}
	if !c.IsCA {
		return nil, errors.New("verify: root: not a CA certificate")
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		return nil, fmt.Errorf("verify: root: not self-signed: %w", err)
	}
	return c, nil
}

// LoadRoot reads a root certificate file (PEM or DER).
func LoadRoot(path string) (*pki.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return ParseRoot(data)
}

// KeyChecker is a Keys that applies the key-use rules of a signed trust
// list (spec §1.2): *TrustList and *TrustUpdater are KeyCheckers.
type KeyChecker interface {
	Keys
	// KeyFor returns the key kid names for something it signed at iat
	// (zero: not known yet), as of now, or the code it may not be used
	// with: trust_list_expired, key_revoked, unknown_key or key_not_valid.
	KeyFor(kid string, iat, now time.Time, skew time.Duration) (*ecdsa.PublicKey, Code)
}

// LookupKey is the one key lookup of e-permits, status lists and linkage
// proofs: through KeyFor when keys is a KeyChecker, else by Key, where an
// absent kid is unknown_key. The code is "" when the key may be used.
func LookupKey(keys Keys, kid string, iat, now time.Time, skew time.Duration) (*ecdsa.PublicKey, Code) {
	if keys == nil || kid == "" {
		return nil, CodeUnknownKey
	}
	if kc, ok := keys.(KeyChecker); ok {
		return kc.KeyFor(kid, iat, now, skew)
	}
	k, ok := keys.Key(kid)
	if !ok || k == nil {
		return nil, CodeUnknownKey
	}
	return k, ""
}

// KeyFor looks kid up by the rules of spec §1.2 "Using a key" when t is a
// signed list, and as Key does otherwise.
func (t *TrustList) KeyFor(kid string, iat, now time.Time, skew time.Duration) (*ecdsa.PublicKey, Code) {
	if t == nil {
		return nil, CodeUnknownKey
	}
	s := t.signed
	if s == nil {
		if k, ok := t.keys[kid]; ok {
			return k, ""
		}
		return nil, CodeUnknownKey
	}
	if !now.Before(s.expiry.Add(skew)) {
		return nil, CodeTrustListExpired
	}
	if _, ok := s.revoked[kid]; ok {
		return nil, CodeKeyRevoked
	}
	cert, ok := s.certs[kid]
	if !ok {
		return nil, CodeUnknownKey
	}
	if !cert.ValidAt(now, skew) || (!iat.IsZero() && !cert.UsableAt(iat, skew)) {
		return nil, CodeKeyNotValid
	}
	return cert.PublicKey, ""
}

// Signed reports whether the list was signed by a root (spec §1.2).
func (t *TrustList) Signed() bool { return t != nil && t.signed != nil }

// Seq is a signed list's sequence number; 0 for a JWK Set.
func (t *TrustList) Seq() uint64 {
	if !t.Signed() {
		return 0
	}
	return t.signed.seq
}

// IssuedAt and Expiry are a signed list's iat and exp (its next-update
// time); zero for a JWK Set.
func (t *TrustList) IssuedAt() time.Time {
	if !t.Signed() {
		return time.Time{}
	}
	return t.signed.issuedAt
}

// Expiry is a signed list's exp, by which a verifier needs a fresh list.
func (t *TrustList) Expiry() time.Time {
	if !t.Signed() {
		return time.Time{}
	}
	return t.signed.expiry
}

// Root is the root the next list must be signed by: the configured root,
// or the new root after a rollover this list brought. Nil for a JWK Set.
func (t *TrustList) Root() *pki.Certificate {
	if !t.Signed() {
		return nil
	}
	return t.signed.root
}

// Certificate returns the DS certificate of a key of a signed list.
func (t *TrustList) Certificate(kid string) (*pki.Certificate, bool) {
	if !t.Signed() {
		return nil, false
	}
	c, ok := t.signed.certs[kid]
	return c, ok
}

// Document is the signed list as accepted, to keep or pass on to another
// verifier; nil for a JWK Set.
func (t *TrustList) Document() []byte {
	if !t.Signed() {
		return nil
	}
	return t.signed.doc
}
