package credential

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Kind is the permit map's kind (key 1): which policy the credential was
// issued under.
type Kind uint

// Credential kinds of spec §2.
const (
	KindTemporaryEPermit Kind = 1 // 临时通行证, 7 days, flights and trains
	KindElectronicPermit Kind = 2 // reserved for a future permanent e-permit policy
)

// DocumentType is the physical permit the credential stands in for
// (permit map key 2).
type DocumentType uint

// Document types of spec §2.
const (
	DocHomeReturnPermitHK    DocumentType = 1 // Home Return Permit (Hong Kong)
	DocHomeReturnPermitMacau DocumentType = 2 // Home Return Permit (Macau)
	DocTaiwanResidentsPermit DocumentType = 3 // Mainland Travel Permit for Taiwan Residents
)

// Sex is ISO/IEC 5218 (permit map key 6).
type Sex uint

// ISO/IEC 5218 codes.
const (
	SexNotKnown      Sex = 0
	SexMale          Sex = 1
	SexFemale        Sex = 2
	SexNotApplicable Sex = 9
)

// Scope is a use the credential is good for (permit map key 8).
type Scope uint

// Scopes of spec §2.
const (
	ScopeFlight Scope = 1 // domestic flights
	ScopeTrain  Scope = 2 // domestic trains
	ScopeBorder Scope = 3 // border control: reserved, never issued under today's policy
)

// Reason is why a temporary e-permit was needed (permit map key 10).
type Reason uint

// Reasons of spec §2.
const (
	ReasonLost      Reason = 1
	ReasonDamaged   Reason = 2
	ReasonForgotten Reason = 3
)

// CWT claim keys (RFC 8392, spec §2).
const (
	claimIss    = 1
	claimExp    = 4
	claimNbf    = 5
	claimIAT    = 6
	claimCTI    = 7
	claimCnf    = 8
	claimStatus = 65535
	claimPermit = -70001
)

// Claims is the CWT claims set of the temporary e-permit, spec §2.
type Claims struct {
	Issuer    string    // iss (1), the issuer id, e.g. "CN-NIA"
	IssuedAt  time.Time // iat (6), whole seconds
	NotBefore time.Time // nbf (5)
	Expiry    time.Time // exp (4)
	ID        [16]byte  // cti (7), random; with the proof iat it keys replay detection
	// Holder is the cnf (8) key: the device key that must sign each
	// presentation.
	Holder *ecdsa.PublicKey
	Status StatusRef // status (65535)
	Permit Permit    // permit (-70001)
}

// StatusRef points at the credential's entry in a Token Status List.
type StatusRef struct {
	Idx uint64 // index in the list
	URI string // where the list is published
}

// Permit is the private-use permit claim: the holder and document data a
// gate needs.
type Permit struct {
	Kind           Kind
	DocumentType   DocumentType
	DocumentNumber string // lifetime number as printed, e.g. "H12345678"
	Name           string // Chinese name as registered, "" when none
	LatinName      string // "SURNAME, GIVEN NAMES"
	Sex            Sex
	BirthDate      string // "YYYY-MM-DD", kept as text as the registry has it
	Scopes         []Scope
	PortraitDigest [16]byte // see PortraitDigest: the portrait never travels in the QR
	Reason         Reason
}

// HasScope reports whether s is among the permit's scopes (spec §4 check 11).
func (p *Permit) HasScope(s Scope) bool {
	for _, v := range p.Scopes {
		if v == s {
			return true
		}
	}
	return false
}

// PortraitDigest returns the permit's portrait digest: the first 16 bytes of
// SHA-256 over the portrait image on file. Online verifiers compare it with
// the portrait they fetch.
func PortraitDigest(image []byte) [16]byte {
	sum := sha256.Sum256(image)
	return [16]byte(sum[:16])
}

// EPermit is a parsed issuer-signed e-permit credential (COSE_Sign1 of a
// CWT). Byte fields alias the parsed input, which must not change afterwards.
type EPermit struct {
	Raw       []byte // the exact tagged COSE_Sign1 bytes, as issued
	Alg       int64  // protected alg: AlgES256 or AlgSM2 unless malformed (0 when absent)
	Kid       []byte // unprotected kid, the issuer key id; nil when absent
	Signature []byte // r||s as carried
	Claims    Claims

	protected []byte
	payload   []byte
}

// KidText is Kid as base64url text, the key of the trust list returned by
// ParseJWKSet.
func (e *EPermit) KidText() string { return base64.RawURLEncoding.EncodeToString(e.Kid) }

// SignEPermit encodes claims as spec §2 and signs them with the issuer key:
// a tagged COSE_Sign1 with protected {1: alg} (-7 for a P-256 key, -70100
// for an SM2 key, spec §1.1), unprotected {4: kid} and the claims in core
// deterministic CBOR. kid must be KeyID of the signer's public key; the
// check catches key/kid mix-ups before a credential that no verifier can
// place is issued.
func SignEPermit(claims Claims, kid []byte, signer crypto.Signer) ([]byte, error) {
	pub, suite, err := signerSuite(signer)
	if err != nil {
		return nil, err
	}
	want, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(kid, want) {
		return nil, fmt.Errorf("credential: kid %x is not the signer's key id %x", kid, want)
	}
	payload, err := encodeClaims(&claims)
	if err != nil {
		return nil, err
	}
	protected := protectedAlg(suite)
	sig, err := signSign1(suite, signer, pub, protected, payload)
	if err != nil {
		return nil, err
	}
	out := appendSign1(make([]byte, 0, len(payload)+len(sig)+32), protected, kid, payload, sig)
	if len(out) > maxCBORSize {
		return nil, errors.New("credential: credential over 2048 bytes")
	}
	return out, nil
}

// encodeClaims writes the claims map with keys in core deterministic order
// (bytewise order of their encodings: 1, 4, 5, 6, 7, 8, 65535, -70001).
func encodeClaims(c *Claims) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	pt, err := c.Holder.Bytes() // 0x04 || x || y
	if err != nil {
		return nil, err
	}
	p := &c.Permit
	b := make([]byte, 0, 320)
	b = appendHead(b, majorMap, 8)
	b = appendInt(b, claimIss)
	b = appendText(b, c.Issuer)
	b = appendInt(b, claimExp)
	b = appendInt(b, c.Expiry.Unix())
	b = appendInt(b, claimNbf)
	b = appendInt(b, c.NotBefore.Unix())
	b = appendInt(b, claimIAT)
	b = appendInt(b, c.IssuedAt.Unix())
	b = appendInt(b, claimCTI)
	b = appendBytes(b, c.ID[:])
	// cnf: {1: COSE_Key}; the key is sent compressed (y as its sign bit):
	// 33 bytes saved are 50 QR characters in a budget of 620.
	b = appendInt(b, claimCnf)
	b = appendHead(b, majorMap, 1)
	b = appendInt(b, 1)
	b = appendHead(b, majorMap, 4)
	b = appendInt(b, 1) // kty
	b = appendInt(b, 2) // EC2
	b = appendInt(b, -1)
	b = appendInt(b, 1) // crv P-256
	b = appendInt(b, -2)
	b = appendBytes(b, pt[1:33])
	b = appendInt(b, -3)
	b = appendBool(b, pt[64]&1 == 1)
	b = appendInt(b, claimStatus)
	b = appendHead(b, majorMap, 1)
	b = appendText(b, "status_list")
	b = appendHead(b, majorMap, 2)
	b = appendText(b, "idx")
	b = appendHead(b, majorUint, c.Status.Idx)
	b = appendText(b, "uri")
	b = appendText(b, c.Status.URI)
	b = appendInt(b, claimPermit)
	b = appendHead(b, majorMap, 10)
	b = appendInt(b, 1)
	b = appendHead(b, majorUint, uint64(p.Kind))
	b = appendInt(b, 2)
	b = appendHead(b, majorUint, uint64(p.DocumentType))
	b = appendInt(b, 3)
	b = appendText(b, p.DocumentNumber)
	b = appendInt(b, 4)
	b = appendText(b, p.Name)
	b = appendInt(b, 5)
	b = appendText(b, p.LatinName)
	b = appendInt(b, 6)
	b = appendHead(b, majorUint, uint64(p.Sex))
	b = appendInt(b, 7)
	b = appendText(b, p.BirthDate)
	b = appendInt(b, 8)
	b = appendHead(b, majorArray, uint64(len(p.Scopes)))
	for _, s := range p.Scopes {
		b = appendHead(b, majorUint, uint64(s))
	}
	b = appendInt(b, 9)
	b = appendBytes(b, p.PortraitDigest[:])
	b = appendInt(b, 10)
	b = appendHead(b, majorUint, uint64(p.Reason))
	return b, nil
}

// validate refuses claims that would produce a credential the decoder (or
// any strict verifier) rejects, or that is plainly unfinished.
func (c *Claims) validate() error {
	switch {
	case c.Issuer == "":
		return errors.New("credential: no issuer")
	case c.IssuedAt.IsZero() || c.NotBefore.IsZero() || c.Expiry.IsZero():
		return errors.New("credential: iat, nbf and exp are required")
	case !c.Expiry.After(c.NotBefore):
		return errors.New("credential: exp is not after nbf")
	case c.ID == [16]byte{}:
		return errors.New("credential: cti is not set")
	case !isP256(c.Holder):
		return errors.New("credential: holder key (cnf) must be P-256")
	case c.Permit.DocumentNumber == "":
		return errors.New("credential: no document number")
	case c.Status.URI == "":
		return errors.New("credential: no status list uri")
	}
	for _, s := range []string{c.Issuer, c.Status.URI, c.Permit.DocumentNumber, c.Permit.Name,
		c.Permit.LatinName, c.Permit.BirthDate} {
		if !utf8.ValidString(s) {
			return errors.New("credential: text is not UTF-8")
		}
	}
	return nil
}

// ParseEPermit parses an issuer-signed e-permit strictly (spec §2 and the
// check 3 rules). It does not verify the signature: see VerifySignature.
// Failures are *FormatError (errors.Is(err, ErrFormat)). Unknown claims and
// header parameters are ignored, as RFC 8392 requires, but must still be
// well-formed.
func ParseEPermit(b []byte) (*EPermit, error) {
	e := new(EPermit)
	if err := e.parse(b); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *EPermit) parse(b []byte) error {
	s, err := readSign1(b)
	if err != nil {
		return err
	}
	if s.detached {
		return cborErr(ErrCBOR, "credential payload is detached")
	}
	h, err := parseProtected(s.protected)
	if err != nil {
		return err
	}
	*e = EPermit{Raw: b, Alg: h.alg, Kid: s.kid, Signature: s.signature,
		protected: s.protected, payload: s.payload}
	return parseClaims(s.payload, &e.Claims)
}

// VerifySignature checks the issuer signature (spec §4 checks 5 and 6) with
// the trust-list key for e.Kid. It returns ErrAlgorithm or ErrBadSignature.
//
// The algorithm is the key's (spec §1.1): ES256 for a P-256 key, SM2 for an
// SM2 key; an alg header that does not match the key is ErrAlgorithm, so a
// signature can never be checked under an algorithm its key is not for. A
// key of no issuer algorithm verifies nothing (ErrBadSignature).
func (e *EPermit) VerifySignature(issuer *ecdsa.PublicKey) error {
	s, err := suiteOfKey(issuer)
	switch {
	case err != nil: // no key, or one of no issuer algorithm: nothing verifies
		return ErrBadSignature
	case e.Alg != s.cose:
		return ErrAlgorithm
	}
	if !verifySign1(s, issuer, e.protected, e.payload, e.Signature) {
		return ErrBadSignature
	}
	return nil
}

// Presence bits of the claims, to require each exactly once.
const (
	hasIss = 1 << iota
	hasExp
	hasNbf
	hasIAT
	hasCTI
	hasCnf
	hasStatus
	hasPermit
	allClaims = 1<<iota - 1
)

func parseClaims(b []byte, c *Claims) error {
	r := cborReader{b: b}
	have := 0
	err := r.eachEntry(func(k mapKey) error {
		var err error
		label, isInt := k.intKey()
		if !isInt {
			label = 0 // text claim names are not used by this format: skip
		}
		switch label {
		case claimIss:
			have |= hasIss
			c.Issuer, err = r.readString()
		case claimExp:
			have |= hasExp
			c.Expiry, err = r.readTime()
		case claimNbf:
			have |= hasNbf
			c.NotBefore, err = r.readTime()
		case claimIAT:
			have |= hasIAT
			c.IssuedAt, err = r.readTime()
		case claimCTI:
			have |= hasCTI
			err = r.readFixed(c.ID[:], "cti")
		case claimCnf:
			have |= hasCnf
			c.Holder, err = r.readCnf()
		case claimStatus:
			have |= hasStatus
			err = r.readStatus(&c.Status)
		case claimPermit:
			have |= hasPermit
			err = r.readPermit(&c.Permit)
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if have != allClaims {
		return cborErr(ErrCBOR, "a required claim is missing")
	}
	return r.done()
}

// readTime reads a NumericDate. Spec §2 says int, so floats are refused.
func (r *cborReader) readTime() (time.Time, error) {
	v, err := r.readInt()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(v, 0).UTC(), nil
}

func (r *cborReader) readFixed(dst []byte, what string) error {
	s, err := r.readBytes()
	if err != nil {
		return err
	}
	if len(s) != len(dst) {
		return cborErr(ErrCBOR, fmt.Sprintf("%s is not %d bytes", what, len(dst)))
	}
	copy(dst, s)
	return nil
}

func (r *cborReader) readSmallUint() (uint, error) {
	v, err := r.readUint()
	if err == nil && v > math.MaxUint {
		err = cborErr(ErrCBOR, "unsigned integer too large")
	}
	return uint(v), err
}

// readCnf reads {1: COSE_Key} (RFC 8747) and returns the key. Other
// confirmation methods are skipped, but a COSE_Key is required.
func (r *cborReader) readCnf() (*ecdsa.PublicKey, error) {
	var pub *ecdsa.PublicKey
	err := r.eachEntry(func(k mapKey) error {
		var err error
		if label, _ := k.intKey(); k.major == majorUint && label == 1 {
			pub, err = r.readCOSEKey()
		} else {
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, cborErr(ErrCBOR, "cnf has no COSE_Key")
	}
	return pub, nil
}

// readCOSEKey reads an EC2 P-256 COSE_Key {1: 2, -1: 1, -2: x, -3: y} where
// y is 32 bytes or, compressed, its sign bit as a bool (RFC 9053 §7.1.1).
func (r *cborReader) readCOSEKey() (*ecdsa.PublicKey, error) {
	var kty, crv int64
	var x, y []byte
	var odd, compressed, haveY bool
	err := r.eachEntry(func(k mapKey) error {
		var err error
		label, isInt := k.intKey()
		if !isInt {
			label = 0
		}
		switch label {
		case 1:
			kty, err = r.readInt()
		case -1:
			crv, err = r.readInt()
		case -2:
			x, err = r.readBytes()
		case -3:
			haveY = true
			var major byte
			if major, _, err = r.peek(); err == nil && major == majorOther {
				compressed = true
				odd, err = r.readBool()
			} else if err == nil {
				y, err = r.readBytes()
			}
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if kty != 2 || crv != 1 || len(x) != 32 || !haveY || (!compressed && len(y) != 32) {
		return nil, cborErr(ErrCBOR, "cnf is not an EC2 P-256 COSE_Key")
	}
	pub, err := ecPublicKey(x, y, compressed, odd)
	if err != nil {
		return nil, cborErr(ErrCBOR, "cnf key is not a point on P-256")
	}
	return pub, nil
}

// ecPublicKey builds a P-256 key from COSE coordinates, decompressing when
// y is only the sign bit (SEC 1 §2.3.4: true means y is odd, prefix 0x03).
func ecPublicKey(x, y []byte, compressed, odd bool) (*ecdsa.PublicKey, error) {
	var pt [65]byte
	pt[0] = 4
	copy(pt[1:33], x)
	if compressed {
		var c [33]byte
		c[0] = 2
		if odd {
			c[0] = 3
		}
		copy(c[1:], x)
		X, Y := elliptic.UnmarshalCompressed(elliptic.P256(), c[:])
		if X == nil {
			return nil, errors.New("not on the curve")
		}
		Y.FillBytes(pt[33:])
	} else {
		copy(pt[33:], y)
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt[:])
}

// readStatus reads {"status_list": {"idx": uint, "uri": text}}; other
// status mechanisms are skipped, but a status list reference is required.
func (r *cborReader) readStatus(st *StatusRef) error {
	found := false
	err := r.eachEntry(func(k mapKey) error {
		var err error
		if k.textKey("status_list") {
			found = true
			err = r.readStatusList(st)
		} else {
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return cborErr(ErrCBOR, "status has no status_list")
	}
	return nil
}

func (r *cborReader) readStatusList(st *StatusRef) error {
	var haveIdx, haveURI bool
	err := r.eachEntry(func(k mapKey) error {
		var err error
		switch {
		case k.textKey("idx"):
			haveIdx = true
			st.Idx, err = r.readUint()
		case k.textKey("uri"):
			haveURI = true
			st.URI, err = r.readString()
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return err
	}
	if !haveIdx || !haveURI {
		return cborErr(ErrCBOR, "status_list needs idx and uri")
	}
	return nil
}

func (r *cborReader) readPermit(p *Permit) error {
	have := 0
	err := r.eachEntry(func(k mapKey) error {
		var err error
		label, isInt := k.intKey()
		if !isInt || label < 1 || label > 10 {
			if err := r.skip(); err != nil {
				return err
			}
			return nil
		}
		have |= 1 << label
		var u uint
		switch label {
		case 1:
			u, err = r.readSmallUint()
			p.Kind = Kind(u)
		case 2:
			u, err = r.readSmallUint()
			p.DocumentType = DocumentType(u)
		case 3:
			p.DocumentNumber, err = r.readString()
		case 4:
			p.Name, err = r.readString()
		case 5:
			p.LatinName, err = r.readString()
		case 6:
			u, err = r.readSmallUint()
			p.Sex = Sex(u)
		case 7:
			p.BirthDate, err = r.readString()
		case 8:
			p.Scopes, err = r.readScopes()
		case 9:
			err = r.readFixed(p.PortraitDigest[:], "portrait digest")
		case 10:
			u, err = r.readSmallUint()
			p.Reason = Reason(u)
		}
		return err
	})
	if err != nil {
		return err
	}
	if have != 0x7fe { // bits 1..10
		return cborErr(ErrCBOR, "a required permit field is missing")
	}
	return nil
}

func (r *cborReader) readScopes() ([]Scope, error) {
	n, err := r.readArray()
	if err != nil {
		return nil, err
	}
	scopes := make([]Scope, n) // n is bounded by the bytes left
	for i := range scopes {
		u, err := r.readSmallUint()
		if err != nil {
			return nil, err
		}
		scopes[i] = Scope(u)
	}
	r.leave()
	return scopes, nil
}
