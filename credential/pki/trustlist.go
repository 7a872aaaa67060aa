package pki

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/epermit/epermit/credential"
)

// The signed trust list of spec/formats.md §1.2: a JWT signed by the root.
const (
	// TrustListTyp is the JWT header typ.
	TrustListTyp = "epermit-trust-list+jwt"
	// TrustListMediaType is the media type it is served with.
	TrustListMediaType = "application/epermit-trust-list+jwt"
	// MaxTrustList bounds a list in bytes.
	MaxTrustList = 1 << 20
)

// Errors of trust list parsing and verification; every error from
// ParseTrustList and (*TrustList).Verify wraps one of them.
var (
	// ErrTrustListFormat: not a well-formed list (spec code
	// trust_list_format).
	ErrTrustListFormat = errors.New("pki: trust list format")
	// ErrTrustListSignature: not signed by the root held, or a key
	// certificate not issued by it (spec code trust_list_signature).
	ErrTrustListSignature = errors.New("pki: trust list not signed by the root")
)

func listFormatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTrustListFormat, fmt.Sprintf(format, args...))
}

func listSigErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTrustListSignature, fmt.Sprintf(format, args...))
}

// RevokedKey is an issuer key the authority withdrew, and when.
type RevokedKey struct {
	Kid       string
	RevokedAt time.Time
}

// TrustListClaims is what the root signs: the authority's issuer keys by
// their DS certificates, the keys withdrawn, a sequence number that only
// grows, when the list was made and when it stops being current (exp, the
// next-update time).
type TrustListClaims struct {
	Issuer       string // the authority's base URL
	Seq          uint64 // ≥ 1
	IssuedAt     time.Time
	Expiry       time.Time
	Certificates [][]byte // DER DS certificates, one per issuer key
	Revoked      []RevokedKey
}

type listHeader struct {
	Alg *string  `json:"alg"`
	Typ *string  `json:"typ"`
	Kid *string  `json:"kid"`
	X5C []string `json:"x5c,omitempty"`
}

type listKey struct {
	credential.JWK
	X5C []string `json:"x5c"`
}

type listRevoked struct {
	Kid       *string      `json:"kid"`
	RevokedAt *json.Number `json:"revoked_at"`
}

type listClaims struct {
	Iss     *string        `json:"iss"`
	Seq     *json.Number   `json:"seq"`
	Iat     *json.Number   `json:"iat"`
	Exp     *json.Number   `json:"exp"`
	Keys    *[]listKey     `json:"keys"`
	Revoked *[]listRevoked `json:"revoked"`
}

// SignTrustList signs c with the root's key as the JWT of spec §1.2.
// Every certificate must be a DS certificate the root issued. cross, when
// not nil, is the DER cross certificate for root's key issued by the
// previous root, carried in the header's x5c during a rollover.
func SignTrustList(c TrustListClaims, root *Certificate, rootSigner crypto.Signer, cross []byte) (string, error) {
	if err := checkIssuer(root, rootSigner); err != nil {
		return "", err
	}
	if c.Issuer == "" || c.Seq < 1 || c.Seq > 1<<53-1 || !c.Expiry.After(c.IssuedAt) {
		return "", errors.New("pki: a trust list needs iss, seq ≥ 1 and exp after iat")
	}
	h := listHeader{Alg: &root.Alg, Typ: new(string), Kid: &root.KeyID}
	*h.Typ = TrustListTyp
	if cross != nil {
		x, err := ParseCertificate(cross)
		if err != nil {
			return "", err
		}
		if !x.IsCA || x.KeyID != root.KeyID || !bytes.Equal(x.RawSubject, root.RawSubject) {
			return "", errors.New("pki: the cross certificate is not for this root")
		}
		h.X5C = []string{base64.StdEncoding.EncodeToString(cross)}
	}
	keys := make([]listKey, 0, len(c.Certificates))
	seen := map[string]bool{}
	for _, der := range c.Certificates {
		ds, err := ParseCertificate(der)
		if err != nil {
			return "", err
		}
		if ds.IsCA {
			return "", fmt.Errorf("pki: %q is not a document-signer certificate", ds.Subject)
		}
		if err := ds.CheckSignatureFrom(root); err != nil {
			return "", err
		}
		if seen[ds.KeyID] {
			return "", fmt.Errorf("pki: key %s listed twice", ds.KeyID)
		}
		seen[ds.KeyID] = true
		jwk, err := credential.NewJWK(ds.PublicKey)
		if err != nil {
			return "", err
		}
		keys = append(keys, listKey{JWK: jwk, X5C: []string{base64.StdEncoding.EncodeToString(der)}})
	}
	revoked := make([]map[string]any, 0, len(c.Revoked))
	seenRevoked := map[string]bool{}
	for _, r := range c.Revoked {
		if r.Kid == "" || seenRevoked[r.Kid] {
			return "", fmt.Errorf("pki: revoked key %q empty or listed twice", r.Kid)
		}
		seenRevoked[r.Kid] = true
		revoked = append(revoked, map[string]any{"kid": r.Kid, "revoked_at": r.RevokedAt.Unix()})
	}
	hb, err := credential.MarshalJSON(h)
	if err != nil {
		return "", err
	}
	cb, err := credential.MarshalJSON(struct {
		Iss     string           `json:"iss"`
		Seq     uint64           `json:"seq"`
		Iat     int64            `json:"iat"`
		Exp     int64            `json:"exp"`
		Keys    []listKey        `json:"keys"`
		Revoked []map[string]any `json:"revoked"`
	}{c.Issuer, c.Seq, c.IssuedAt.Unix(), c.Expiry.Unix(), keys, revoked})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	sig, _, err := credential.SignMessage(rootSigner, []byte(input))
	if err != nil {
		return "", err
	}
	out := input + "." + enc.EncodeToString(sig)
	if len(out) > MaxTrustList {
		return "", fmt.Errorf("pki: trust list over %d bytes", MaxTrustList)
	}
	return out, nil
}

// ListedKey is one issuer key of a trust list with its DS certificate.
type ListedKey struct {
	JWK         credential.JWK
	Certificate *Certificate
}

// TrustList is a parsed trust list, not yet verified: see Verify.
type TrustList struct {
	Alg, Kid string       // the header's: the signing root's algorithm and kid
	Cross    *Certificate // the header's x5c cross certificate; nil when absent

	Issuer   string
	Seq      uint64
	IssuedAt time.Time
	Expiry   time.Time
	Keys     []ListedKey
	Revoked  []RevokedKey
	// Unsupported lists the kids of keys of a suite this program was built
	// without (SM2 without credential/sm2): left out of Keys, as a plain
	// JWK Set's are.
	Unsupported []string

	signingInput []byte
	signature    []byte
}

// ParseTrustList parses a trust list strictly (spec §1.2): a compact JWS of
// at most MaxTrustList bytes, typ epermit-trust-list+jwt, no header or
// claim member beyond the spec's, every key a valid issuer JWK whose one
// x5c certificate is a DS certificate for that very key. It checks no
// signature and no time. Errors wrap ErrTrustListFormat.
func ParseTrustList(data []byte) (*TrustList, error) {
	if len(data) > MaxTrustList {
		return nil, listFormatErr("over %d bytes", MaxTrustList)
	}
	parts := strings.Split(string(data), ".")
	if len(parts) != 3 {
		return nil, listFormatErr("not a JWS in compact form")
	}
	enc := base64.RawURLEncoding.Strict()
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, listFormatErr("a part is not base64url")
	}
	var h listHeader
	if err := credential.UnmarshalStrict(hb, &h); err != nil {
		return nil, listFormatErr("header: %v", err)
	}
	if h.Alg == nil || h.Typ == nil || h.Kid == nil {
		return nil, listFormatErr("header needs alg, typ and kid")
	}
	if *h.Typ != TrustListTyp {
		return nil, listFormatErr("typ is not %q", TrustListTyp)
	}
	l := &TrustList{Alg: *h.Alg, Kid: *h.Kid, signature: sig,
		signingInput: data[:len(parts[0])+1+len(parts[1])]}
	if h.X5C != nil {
		if len(h.X5C) != 1 {
			return nil, listFormatErr("header x5c must hold exactly one certificate")
		}
		if l.Cross, err1 = parseX5C(h.X5C[0]); err1 != nil {
			return nil, listFormatErr("header x5c: %v", err1)
		}
		if !l.Cross.IsCA || l.Cross.KeyID != l.Kid {
			return nil, listFormatErr("header x5c is not a CA certificate for the signing key")
		}
	}
	var c listClaims
	if err := credential.UnmarshalStrict(cb, &c); err != nil {
		return nil, listFormatErr("claims: %v", err)
	}
	if c.Iss == nil || c.Seq == nil || c.Iat == nil || c.Exp == nil || c.Keys == nil || c.Revoked == nil {
		return nil, listFormatErr("claims need iss, seq, iat, exp, keys and revoked")
	}
	seq, err1 := c.Seq.Int64()
	iat, err2 := c.Iat.Int64()
	exp, err3 := c.Exp.Int64()
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		return nil, listFormatErr("seq, iat and exp must be integers")
	case seq < 1 || seq > 1<<53-1:
		return nil, listFormatErr("seq must be from 1 to 2^53−1")
	case exp <= iat:
		return nil, listFormatErr("exp must be after iat")
	case *c.Iss == "":
		return nil, listFormatErr("iss is empty")
	}
	l.Issuer, l.Seq, l.IssuedAt, l.Expiry = *c.Iss, uint64(seq), time.Unix(iat, 0).UTC(), time.Unix(exp, 0).UTC()
	seen := map[string]bool{}
	for _, k := range *c.Keys {
		if seen[k.Kid] {
			return nil, listFormatErr("key %q listed twice", k.Kid)
		}
		seen[k.Kid] = true
		lk, unsupported, err := parseListedKey(k)
		if err != nil {
			return nil, err
		}
		if unsupported {
			l.Unsupported = append(l.Unsupported, k.Kid)
			continue
		}
		l.Keys = append(l.Keys, lk)
	}
	seenRevoked := map[string]bool{}
	for _, r := range *c.Revoked {
		if r.Kid == nil || r.RevokedAt == nil || *r.Kid == "" {
			return nil, listFormatErr("a revoked entry needs kid and revoked_at")
		}
		at, err := r.RevokedAt.Int64()
		if err != nil {
			return nil, listFormatErr("revoked_at must be an integer")
		}
		if seenRevoked[*r.Kid] {
			return nil, listFormatErr("revoked key %q listed twice", *r.Kid)
		}
		seenRevoked[*r.Kid] = true
		l.Revoked = append(l.Revoked, RevokedKey{Kid: *r.Kid, RevokedAt: time.Unix(at, 0).UTC()})
	}
	return l, nil
}

// parseX5C reads one x5c element: standard base64 (with padding) of DER.
func parseX5C(s string) (*Certificate, error) {
	der, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not standard base64")
	}
	return ParseCertificate(der)
}

func parseListedKey(k listKey) (ListedKey, bool, error) {
	if k.Alg == "" || k.Use != "sig" {
		return ListedKey{}, false, listFormatErr("key %q needs alg and use sig", k.Kid)
	}
	pub, err := k.JWK.PublicKey()
	if errors.Is(err, credential.ErrUnsupportedKey) {
		return ListedKey{}, true, nil
	}
	if err != nil {
		return ListedKey{}, false, listFormatErr("%v", err)
	}
	if len(k.X5C) != 1 {
		return ListedKey{}, false, listFormatErr("key %q: x5c must hold exactly its DS certificate", k.Kid)
	}
	cert, err := parseX5C(k.X5C[0])
	if err != nil {
		return ListedKey{}, false, listFormatErr("key %q: x5c: %v", k.Kid, err)
	}
	if cert.IsCA || cert.KeyID != k.Kid || !cert.PublicKey.Equal(pub) {
		return ListedKey{}, false, listFormatErr("key %q: x5c is not a DS certificate for this key", k.Kid)
	}
	return ListedKey{JWK: k.JWK, Certificate: cert}, false, nil
}

// Verify checks the list's signature and returns the certificate of the
// key that signed it: the anchor whose kid the header names, or, when the
// header carries a cross certificate issued by one of the anchors and
// valid at now (± skew), that cross certificate (a root rollover: the
// caller adopts it as its anchor for later lists). The header alg must be
// the signing key's, and every DS certificate must be issued by the
// signing root. Errors wrap ErrTrustListSignature.
func (l *TrustList) Verify(now time.Time, skew time.Duration, anchors ...*Certificate) (*Certificate, error) {
	var signer *Certificate
	for _, a := range anchors {
		if a != nil && a.KeyID == l.Kid {
			signer = a
			break
		}
	}
	if signer == nil && l.Cross != nil {
		for _, a := range anchors {
			if a != nil && l.Cross.CheckSignatureFrom(a) == nil {
				signer = l.Cross
				break
			}
		}
		if signer == nil {
			return nil, listSigErr("signed by key %s, whose cross certificate no root held issued", l.Kid)
		}
		if !signer.ValidAt(now, skew) {
			return nil, listSigErr("the cross certificate is valid %s to %s only", signer.NotBefore.Format(time.RFC3339),
				signer.NotAfter.Format(time.RFC3339))
		}
	}
	if signer == nil {
		return nil, listSigErr("signed by key %s, not by the root held", l.Kid)
	}
	if l.Alg != signer.Alg {
		return nil, listSigErr("alg %s is not the root key's %s", l.Alg, signer.Alg)
	}
	if !credential.VerifyMessage(signer.PublicKey, l.signingInput, l.signature) {
		return nil, listSigErr("the signature does not verify under the root's key")
	}
	for _, k := range l.Keys {
		if err := k.Certificate.CheckSignatureFrom(signer); err != nil {
			return nil, listSigErr("key %s: %v", k.JWK.Kid, err)
		}
	}
	return signer, nil
}
