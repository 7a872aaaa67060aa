package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// SD-JWT (RFC 9901) for the linkage proof of spec §6: an issuer-signed JWT
// whose personal claims travel as salted disclosures, so that the holder
// shows each institution only what it needs, bound to the holder's device
// key by a key-binding JWT (KB-JWT).
//
// JWS is done with the standard library: ES256 is the only algorithm
// (spec §1), its JWS form (r||s over SHA-256 of "header.payload") is the
// same r||s the COSE code already makes, and keeping go-jose out keeps the
// verify package free of third-party modules.

// Linkage proof constants of spec §6.
const (
	LinkageVCT = "urn:epermit:vct:permit-linkage:1" // the vct claim
	TypSDJWT   = "dc+sd-jwt"                        // the issuer-signed JWT's typ
	TypKBJWT   = "kb+jwt"                           // the key-binding JWT's typ
	SDAlg      = "sha-256"                          // the only _sd_alg epermit issues or accepts
)

// The selectively disclosable claims of spec §6, in the order they are
// issued.
const (
	ClaimName                  = "name"
	ClaimLatinName             = "latin_name"
	ClaimBirthDate             = "birth_date"
	ClaimSex                   = "sex"
	ClaimTravelPermitType      = "travel_permit_type"
	ClaimTravelPermitNumber    = "travel_permit_number"
	ClaimResidencePermitNumber = "residence_permit_number"
)

// LinkageClaimNames lists the disclosable claims of spec §6.
var LinkageClaimNames = []string{ClaimName, ClaimLatinName, ClaimBirthDate, ClaimSex,
	ClaimTravelPermitType, ClaimTravelPermitNumber, ClaimResidencePermitNumber}

// Limits on outside input, so a hostile presentation costs little to
// refuse. A real linkage presentation is about 2 KB with 7 disclosures.
const (
	MaxSDJWTLen       = 16 << 10
	MaxDisclosures    = 32
	maxDisclosureSize = 1024
)

// SD-JWT failures beyond the format, one per verifier code.
var (
	// ErrSDJWT: the text is not a well-formed SD-JWT, KB-JWT or disclosure
	// (bad base64url, JSON, structure or a missing claim). It satisfies
	// errors.Is(err, ErrFormat).
	ErrSDJWT = errors.New("credential: malformed SD-JWT")
	// ErrDisclosure: a disclosure is not referenced by the issuer's _sd
	// digests, appears twice, or names a claim it may not.
	ErrDisclosure = errors.New("credential: disclosure does not match the issuer's digests")
)

func sdErr(msg string, args ...any) error {
	return &FormatError{Kind: ErrSDJWT, Msg: fmt.Sprintf(msg, args...)}
}

func disclosureErr(msg string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDisclosure, fmt.Sprintf(msg, args...))
}

var b64 = base64.RawURLEncoding.Strict()

// Disclosure is one salted claim of RFC 9901 §4.2.1: the base64url of the
// JSON array [salt, name, value].
type Disclosure struct {
	Salt    string
	Name    string
	Value   any    // as encoding/json decodes it: string, float64, bool, nil, map or slice
	Encoded string // the base64url text exactly as issued; digests are over it
}

// Digest is the disclosure's digest as it appears in _sd.
func (d *Disclosure) Digest() string { return DisclosureDigest(d.Encoded) }

// DisclosureDigest is base64url(SHA-256(ASCII of the encoded disclosure)),
// RFC 9901 §4.2.3: the digest is over the base64url text, not its bytes.
func DisclosureDigest(encoded string) string {
	sum := sha256.Sum256([]byte(encoded))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// NewDisclosure salts a claim with 128 random bits (RFC 9901 §9.3).
func NewDisclosure(name string, value any) (Disclosure, error) {
	return newDisclosure(rand.Reader, name, value)
}

func newDisclosure(random io.Reader, name string, value any) (Disclosure, error) {
	if name == "_sd" || name == "..." || name == "" {
		return Disclosure{}, fmt.Errorf("credential: %q cannot be a disclosed claim", name)
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(random, salt); err != nil {
		return Disclosure{}, err
	}
	d := Disclosure{Salt: base64.RawURLEncoding.EncodeToString(salt), Name: name, Value: value}
	b, err := json.Marshal([]any{d.Salt, d.Name, d.Value})
	if err != nil {
		return Disclosure{}, err
	}
	d.Encoded = base64.RawURLEncoding.EncodeToString(b)
	return d, nil
}

// ParseDisclosure decodes an object-property disclosure. Array-element
// disclosures (two elements) are refused: spec §6 has none.
func ParseDisclosure(encoded string) (*Disclosure, error) {
	if len(encoded) > maxDisclosureSize {
		return nil, sdErr("disclosure over %d characters", maxDisclosureSize)
	}
	b, err := b64.DecodeString(encoded)
	if err != nil {
		return nil, sdErr("disclosure is not base64url")
	}
	// One decoding pass: verifiers parse a disclosure per claim presented.
	var arr []any
	if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 3 {
		return nil, sdErr("disclosure is not a JSON array [salt, name, value]")
	}
	salt, ok1 := arr[0].(string)
	name, ok2 := arr[1].(string)
	if !ok1 || !ok2 {
		return nil, sdErr("disclosure salt and claim name must be strings")
	}
	if len(salt) < 16 {
		// RFC 9901 §9.3 wants 128 bits of entropy; a short salt makes the
		// undisclosed claims guessable from their digests.
		return nil, sdErr("disclosure salt is too short")
	}
	if name == "" || name == "_sd" || name == "..." {
		return nil, sdErr("disclosure claim name %q is not allowed", name)
	}
	d := &Disclosure{Salt: salt, Name: name, Value: arr[2], Encoded: encoded}
	return d, nil
}

// LinkageClaims is what a linkage proof says (spec §6).
type LinkageClaims struct {
	Issuer   string    // iss: the authority's public base URL
	IssuedAt time.Time // iat, whole seconds
	Expiry   time.Time // exp
	Holder   *ecdsa.PublicKey
	Status   StatusRef

	// The selectively disclosable claims.
	Name                  string // Chinese name as registered, "" when none
	LatinName             string
	BirthDate             string // YYYY-MM-DD
	Sex                   Sex    // ISO/IEC 5218, as in the e-permit
	TravelPermitType      string // hk, mo or tw
	TravelPermitNumber    string // lifetime number
	ResidencePermitNumber string // 18 characters
}

func (c *LinkageClaims) disclosable() []any {
	return []any{c.Name, c.LatinName, c.BirthDate, uint(c.Sex), c.TravelPermitType, c.TravelPermitNumber, c.ResidencePermitNumber}
}

// jwsHeader is the protected header of both JWTs.
type jwsHeader struct {
	Alg  string           `json:"alg"`
	Typ  string           `json:"typ"`
	Kid  string           `json:"kid,omitempty"`
	X5C  []string         `json:"x5c,omitempty"`  // the issuer key's certificate chain (spec §6, §1.2)
	Crit *json.RawMessage `json:"crit,omitempty"` // refused: epermit understands no extensions
}

// holderJWK is the cnf key: a bare P-256 JWK (the device key has no kid).
type holderJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

type statusClaim struct {
	StatusList *struct {
		Idx *uint64 `json:"idx"`
		URI string  `json:"uri"`
	} `json:"status_list"`
}

// linkagePayload is the issuer-signed JWT's claims, in the order issued.
type linkagePayload struct {
	Iss string `json:"iss"`
	Iat *int64 `json:"iat"`
	Nbf *int64 `json:"nbf,omitempty"`
	Exp *int64 `json:"exp"`
	Vct string `json:"vct"`
	Cnf *struct {
		JWK *JWK `json:"jwk"`
	} `json:"cnf"`
	Status statusClaim `json:"status"`
	SDAlg  string      `json:"_sd_alg"`
	SD     []string    `json:"_sd"`
}

// issuedPayload is linkagePayload for encoding, without pointers.
type issuedPayload struct {
	Iss    string                     `json:"iss"`
	Iat    int64                      `json:"iat"`
	Exp    int64                      `json:"exp"`
	Vct    string                     `json:"vct"`
	Cnf    map[string]holderJWK       `json:"cnf"`
	Status map[string]issuedStatusRef `json:"status"`
	SDAlg  string                     `json:"_sd_alg"`
	SD     []string                   `json:"_sd"`
}

type issuedStatusRef struct {
	Idx uint64 `json:"idx"`
	URI string `json:"uri"`
}

// IssueLinkage signs a linkage proof and returns the SD-JWT as the holder
// keeps it: `<issuer-jwt>~<disclosure>~…~` with all seven disclosures.
// kid is the issuer key's id as base64url text (KeyIDString).
func IssueLinkage(c LinkageClaims, kid string, signer crypto.Signer) (string, error) {
	return issueLinkage(rand.Reader, c, kid, signer, nil)
}

// IssueLinkageWithChain is IssueLinkage for a certified issuer key (spec
// §1.2): the issuer JWT's header also carries x5c, the DER certificates
// given (the key's document-signer certificate, without the root, as
// OpenID4VC HAIP has it) in standard base64.
func IssueLinkageWithChain(c LinkageClaims, kid string, signer crypto.Signer, chain [][]byte) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("credential: no certificate chain")
	}
	return issueLinkage(rand.Reader, c, kid, signer, chain)
}

func issueLinkage(random io.Reader, c LinkageClaims, kid string, signer crypto.Signer, chain [][]byte) (string, error) {
	pub, suite, err := signerSuite(signer)
	if err != nil {
		return "", err
	}
	if c.Holder == nil || !isP256(c.Holder) {
		return "", errors.New("credential: the holder key must be P-256")
	}
	if c.Issuer == "" || c.Status.URI == "" || !c.Expiry.After(c.IssuedAt) {
		return "", errors.New("credential: linkage claims need iss, a status entry and exp after iat")
	}
	b, err := c.Holder.Bytes()
	if err != nil {
		return "", err
	}
	hk := holderJWK{Kty: "EC", Crv: "P-256", X: base64.RawURLEncoding.EncodeToString(b[1:33]),
		Y: base64.RawURLEncoding.EncodeToString(b[33:])}
	values := c.disclosable()
	ds := make([]Disclosure, len(LinkageClaimNames))
	digests := make([]string, len(ds))
	for i, name := range LinkageClaimNames {
		if ds[i], err = newDisclosure(random, name, values[i]); err != nil {
			return "", err
		}
		digests[i] = ds[i].Digest()
	}
	// Sorted, so that the order of _sd says nothing about which digest is
	// which claim (RFC 9901 §4.2.4.1). No decoys: every proof discloses
	// the same seven claims, so their number hides nothing.
	slices.Sort(digests)
	payload := issuedPayload{Iss: c.Issuer, Iat: c.IssuedAt.Unix(), Exp: c.Expiry.Unix(), Vct: LinkageVCT,
		Cnf: map[string]holderJWK{"jwk": hk}, Status: map[string]issuedStatusRef{"status_list": {Idx: c.Status.Idx, URI: c.Status.URI}},
		SDAlg: SDAlg, SD: digests}
	h := jwsHeader{Alg: suite.jose, Typ: TypSDJWT, Kid: kid}
	for _, der := range chain {
		h.X5C = append(h.X5C, base64.StdEncoding.EncodeToString(der))
	}
	jwt, err := signJWT(h, payload, suite, pub, signer)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(jwt)
	sb.WriteByte('~')
	for _, d := range ds {
		sb.WriteString(d.Encoded)
		sb.WriteByte('~')
	}
	return sb.String(), nil
}

// signJWT signs a compact JWS with signer, whose key pub is of suite s.
func signJWT(h jwsHeader, claims any, s suite, pub *ecdsa.PublicKey, signer crypto.Signer) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	sig, err := s.signMessage(signer, pub, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// KBClaims are the key-binding JWT's claims (RFC 9901 §4.3).
type KBClaims struct {
	IssuedAt time.Time // iat
	Audience string    // aud: the institution's id
	Nonce    string    // the institution's challenge
	SDHash   string    // sd_hash over the presentation before the KB-JWT
}

type kbPayload struct {
	Iat    *int64 `json:"iat"`
	Aud    string `json:"aud"`
	Nonce  string `json:"nonce"`
	SDHash string `json:"sd_hash"`
}

type issuedKB struct {
	Iat    int64  `json:"iat"`
	Aud    string `json:"aud"`
	Nonce  string `json:"nonce"`
	SDHash string `json:"sd_hash"`
}

// SDHash is base64url(SHA-256) of the presentation up to and including the
// last "~" before the KB-JWT (RFC 9901 §4.3.1).
func SDHash(presented string) string {
	sum := sha256.Sum256([]byte(presented))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PresentLinkage is the holder's side: it keeps the issuer JWT and the
// disclosures of the claims named in disclose, and appends a KB-JWT signed
// by the device key for the institution aud and its nonce, made at at.
// Naming a claim the SD-JWT does not hold is an error, so a holder never
// shows less than they meant to without noticing.
func PresentLinkage(sdjwt string, disclose []string, holder crypto.Signer, aud, nonce string, at time.Time) (string, error) {
	jwt, rest, ok := strings.Cut(sdjwt, "~")
	if !ok {
		return "", sdErr("no ~ after the issuer JWT")
	}
	byName := map[string]string{}
	for _, enc := range strings.Split(strings.TrimSuffix(rest, "~"), "~") {
		if enc == "" {
			continue
		}
		d, err := ParseDisclosure(enc)
		if err != nil {
			return "", err
		}
		byName[d.Name] = enc
	}
	var sb strings.Builder
	sb.WriteString(jwt)
	sb.WriteByte('~')
	seen := map[string]bool{}
	for _, name := range disclose {
		enc, ok := byName[name]
		if !ok {
			return "", fmt.Errorf("credential: the SD-JWT has no disclosure for %q", name)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		sb.WriteString(enc)
		sb.WriteByte('~')
	}
	presented := sb.String()
	holderPub, err := signerP256(holder)
	if err != nil {
		return "", err
	}
	kb, err := signJWT(jwsHeader{Alg: JOSEES256, Typ: TypKBJWT},
		issuedKB{Iat: at.Unix(), Aud: aud, Nonce: nonce, SDHash: SDHash(presented)}, es256, holderPub, holder)
	if err != nil {
		return "", err
	}
	return presented + kb, nil
}

// SDJWT is a parsed SD-JWT presentation: the issuer-signed JWT, its
// disclosures and, when present, the KB-JWT. Parsing checks structure and
// decodes; the signatures and the digests are checked by the methods, in
// the order a verifier needs.
type SDJWT struct {
	Kid string // the issuer key id from the JWT header
	// X5C is the issuer JWT header's x5c, each element a DER certificate
	// in standard base64; nil when absent.
	X5C      []string
	Alg      string // the issuer JWT's alg
	Typ      string // the issuer JWT's typ
	Issuer   string
	IssuedAt time.Time
	// NotBefore is zero when the JWT has no nbf.
	NotBefore   time.Time
	Expiry      time.Time
	VCT         string
	Holder      *ecdsa.PublicKey // cnf.jwk
	Status      StatusRef
	SDAlg       string
	Digests     []string // _sd
	Disclosures []*Disclosure
	// KB is nil when the presentation carries no KB-JWT (it ends in "~").
	KB *KeyBinding
	// Presented is the text up to and including the last "~": what sd_hash
	// covers.
	Presented string

	signingInput string
	sig          []byte
}

// KeyBinding is a parsed KB-JWT.
type KeyBinding struct {
	Alg    string
	Typ    string
	Claims KBClaims

	signingInput string
	sig          []byte
}

// ParseSDJWT parses an SD-JWT or SD-JWT+KB in compact form. Every failure
// satisfies errors.Is(err, ErrFormat).
func ParseSDJWT(text string) (*SDJWT, error) {
	if len(text) > MaxSDJWTLen {
		return nil, sdErr("over %d characters", MaxSDJWTLen)
	}
	last := strings.LastIndexByte(text, '~')
	if last < 0 {
		return nil, sdErr("no ~ after the issuer JWT")
	}
	s := &SDJWT{Presented: text[:last+1]}
	jwt, rest, _ := strings.Cut(s.Presented, "~")
	var h jwsHeader
	var p linkagePayload
	var err error
	if s.signingInput, s.sig, err = parseJWS(jwt, &h, &p); err != nil {
		return nil, err
	}
	s.Kid, s.Alg, s.Typ, s.X5C = h.Kid, h.Alg, h.Typ, h.X5C
	if err := s.readPayload(&p); err != nil {
		return nil, err
	}
	// rest is "" or "<d1>~…~<dn>~": an empty disclosure ("~~") is malformed.
	if rest != "" {
		rest = rest[:len(rest)-1]
		n := strings.Count(rest, "~") + 1
		if n > MaxDisclosures {
			return nil, sdErr("more than %d disclosures", MaxDisclosures)
		}
		s.Disclosures = make([]*Disclosure, 0, n)
		for enc := range strings.SplitSeq(rest, "~") {
			d, err := ParseDisclosure(enc)
			if err != nil {
				return nil, err
			}
			s.Disclosures = append(s.Disclosures, d)
		}
	}
	if kb := text[last+1:]; kb != "" {
		s.KB = &KeyBinding{}
		var kh jwsHeader
		var kp kbPayload
		if s.KB.signingInput, s.KB.sig, err = parseJWS(kb, &kh, &kp); err != nil {
			return nil, err
		}
		if kp.Iat == nil {
			return nil, sdErr("KB-JWT has no iat")
		}
		s.KB.Alg, s.KB.Typ = kh.Alg, kh.Typ
		s.KB.Claims = KBClaims{IssuedAt: time.Unix(*kp.Iat, 0).UTC(), Audience: kp.Aud, Nonce: kp.Nonce, SDHash: kp.SDHash}
	}
	return s, nil
}

func (s *SDJWT) readPayload(p *linkagePayload) error {
	switch {
	case p.Iat == nil || p.Exp == nil:
		return sdErr("iat and exp are required")
	case p.Cnf == nil || p.Cnf.JWK == nil:
		return sdErr("cnf.jwk is required")
	case p.Status.StatusList == nil || p.Status.StatusList.Idx == nil || p.Status.StatusList.URI == "":
		return sdErr("status.status_list {idx, uri} is required")
	}
	holder, err := p.Cnf.JWK.Key()
	if err != nil {
		return sdErr("cnf.jwk: %v", err)
	}
	s.Issuer, s.VCT, s.SDAlg, s.Digests, s.Holder = p.Iss, p.Vct, p.SDAlg, p.SD, holder
	s.IssuedAt, s.Expiry = time.Unix(*p.Iat, 0).UTC(), time.Unix(*p.Exp, 0).UTC()
	if p.Nbf != nil {
		s.NotBefore = time.Unix(*p.Nbf, 0).UTC()
	}
	s.Status = StatusRef{Idx: *p.Status.StatusList.Idx, URI: p.Status.StatusList.URI}
	return nil
}

// parseJWS splits a compact JWS and decodes its header and claims.
func parseJWS(jws string, h *jwsHeader, claims any) (signingInput string, sig []byte, err error) {
	dot1 := strings.IndexByte(jws, '.')
	dot2 := strings.LastIndexByte(jws, '.')
	if dot1 < 0 || dot1 == dot2 {
		return "", nil, sdErr("a JWT has three parts")
	}
	hb, err1 := b64.DecodeString(jws[:dot1])
	pb, err2 := b64.DecodeString(jws[dot1+1 : dot2])
	sig, err3 := b64.DecodeString(jws[dot2+1:])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", nil, sdErr("a JWT part is not base64url")
	}
	if err := unmarshalExact(hb, h); err != nil {
		return "", nil, sdErr("JWT header is not a JSON object with the member names of RFC 7515")
	}
	if h.Crit != nil {
		return "", nil, sdErr("JWT header has crit extensions")
	}
	if err := unmarshalExact(pb, claims); err != nil {
		return "", nil, sdErr("JWT claims are not the expected JSON object")
	}
	return jws[:dot2], sig, nil
}

// VerifyIssuer checks the issuer JWT's signature with the trust-list key
// for s.Kid. The alg must be the key's (spec §1.1: ES256 for a P-256 key,
// SM2 for an SM2 key), or it is ErrAlgorithm.
func (s *SDJWT) VerifyIssuer(issuer *ecdsa.PublicKey) error {
	suite, err := suiteOfKey(issuer)
	switch {
	case err != nil:
		return ErrBadSignature
	case s.Alg != suite.jose:
		return ErrAlgorithm
	}
	var ok bool
	if suite.isES256() {
		ok = verifyJWS(issuer, s.signingInput, s.sig) // no copy of the input
	} else {
		ok = suite.verifyMessage(issuer, s.sig, []byte(s.signingInput))
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

func verifyJWS(pub *ecdsa.PublicKey, signingInput string, sig []byte) bool {
	digest := sha256.Sum256([]byte(signingInput))
	return verifyES256(pub, &digest, sig)
}

// CheckDisclosures checks every disclosure against _sd (RFC 9901 §7.1):
// each digest must be referenced, no digest may appear twice (in _sd or
// among the disclosures), and no disclosure may name a claim the payload
// shows in the clear. It returns an error matching ErrDisclosure, or
// ErrAlgorithm when _sd_alg is not sha-256.
func (s *SDJWT) CheckDisclosures() error {
	if s.SDAlg != SDAlg {
		return fmt.Errorf("%w: _sd_alg %q", ErrAlgorithm, s.SDAlg)
	}
	// Linkage proofs hold 7 digests: a linear scan beats a map here.
	for i, d := range s.Digests {
		if slices.Contains(s.Digests[i+1:], d) {
			return disclosureErr("digest listed twice in _sd")
		}
	}
	used := make([]bool, len(s.Digests))
	for _, d := range s.Disclosures {
		i := slices.Index(s.Digests, d.Digest())
		switch {
		case i < 0:
			return disclosureErr("disclosure for %q is not in _sd (altered or foreign)", d.Name)
		case used[i]:
			return disclosureErr("disclosure for %q given twice", d.Name)
		case visibleClaim(d.Name):
			return disclosureErr("disclosure for %q would overwrite a visible claim", d.Name)
		}
		used[i] = true
	}
	return nil
}

func visibleClaim(name string) bool {
	switch name {
	case "iss", "iat", "nbf", "exp", "vct", "cnf", "status", "_sd_alg", "sub", "aud", "jti":
		return true
	}
	return false
}

// VerifyKeyBinding checks the KB-JWT's alg, typ and its signature with the
// cnf key. It does not judge aud, nonce, sd_hash or freshness: those
// depend on the verifier (see SDHashMatches).
func (s *SDJWT) VerifyKeyBinding() error {
	switch {
	case s.KB == nil:
		return fmt.Errorf("%w: no KB-JWT", ErrBadHolderProof)
	case s.KB.Alg != "ES256":
		return ErrAlgorithm
	case !verifyJWS(s.Holder, s.KB.signingInput, s.KB.sig):
		return ErrBadHolderProof
	}
	return nil
}

// SDHashMatches reports whether the KB-JWT's sd_hash covers exactly this
// presentation's issuer JWT and disclosures.
func (s *SDJWT) SDHashMatches() bool {
	return s.KB != nil && s.KB.Claims.SDHash == SDHash(s.Presented)
}
