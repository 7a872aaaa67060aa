package credential

// Status list tokens, spec/formats.md §5: the IETF Token Status List
// (draft-ietf-oauth-status-list) with 2-bit entries, signed as a CWT (the
// default) or a JWT. The authority publishes them; verifiers fetch, check
// and cache them, and look up a credential's entry by its status claim.

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StatusValue is one entry of a status list (spec §5, bits = 2).
type StatusValue uint8

// The status values of spec §5. Value 3 is representable in 2 bits but has
// no meaning in epermit's lists.
const (
	StatusValid     StatusValue = 0
	StatusRevoked   StatusValue = 1 // "invalid" in the Token Status List draft
	StatusSuspended StatusValue = 2
)

// String names the value as the spec's reason codes do.
func (v StatusValue) String() string {
	switch v {
	case StatusValid:
		return "valid"
	case StatusRevoked:
		return "revoked"
	case StatusSuspended:
		return "suspended"
	}
	return "status_" + strconv.Itoa(int(v))
}

// Bounds on status lists and their tokens. A verifier fetches these from the
// network, so every size is capped before anything is allocated for it.
const (
	// MaxStatusListBytes bounds a decompressed list: 16 MiB is 67,108,864
	// two-bit entries, far more than a list holds (1,048,576 by default).
	// Decompression stops there, so a zip bomb costs at most this much.
	MaxStatusListBytes = 16 << 20
	// MaxStatusListCWT bounds a CWT status list token: an incompressible
	// list at the maximum size plus headers and signature.
	MaxStatusListCWT = MaxStatusListBytes + MaxStatusListBytes/64 + 4096
	// MaxStatusListJWT bounds a JWT status list token: the same in base64url.
	MaxStatusListJWT = MaxStatusListCWT/3*4 + 4096
)

// Media types and JOSE/COSE typ values of the two token forms.
const (
	StatusListCWTType = "application/statuslist+cwt" // media type, and the COSE typ (header 16)
	StatusListJWTType = "application/statuslist+jwt" // media type
	statusListJWTTyp  = "statuslist+jwt"             // the JOSE typ header
)

// ErrStatusList is the umbrella for every status list token that cannot be
// used: malformed, a wrong typ or bits, a list over the bounds, an unknown
// key, a wrong algorithm or a bad signature. Signature failures also match
// ErrAlgorithm, ErrBadSignature or ErrUnknownKey.
var ErrStatusList = errors.New("credential: bad status list token")

// ErrUnknownKey: the token's kid is not among the keys the caller trusts.
var ErrUnknownKey = errors.New("credential: signing key not in the trust list")

func statusErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrStatusList, fmt.Sprintf(format, args...))
}

func statusWrap(err error) error { return fmt.Errorf("%w: %w", ErrStatusList, err) }

// StatusList is a decompressed list of 2-bit entries. Bit order follows the
// Token Status List draft: entry i is in byte i/4, at bit offset 2*(i%4)
// counted from the least significant bit. The zero value is an empty list.
type StatusList struct {
	b []byte
}

// NewStatusList returns a list of at least n entries, all valid. The length
// is rounded up to whole bytes (4 entries), as the wire form carries bytes.
func NewStatusList(n int) (*StatusList, error) {
	if n < 0 || (n+3)/4 > MaxStatusListBytes {
		return nil, fmt.Errorf("credential: a status list of %d entries is over the bound", n)
	}
	return &StatusList{b: make([]byte, (n+3)/4)}, nil
}

// Len is the number of entries (4 per byte).
func (l *StatusList) Len() uint64 { return uint64(len(l.b)) * 4 }

// Bytes returns the list's bytes in wire order; they alias the list.
func (l *StatusList) Bytes() []byte { return l.b }

// Get returns entry i, and false when i is beyond the list.
func (l *StatusList) Get(i uint64) (StatusValue, bool) {
	if i/4 >= uint64(len(l.b)) {
		return 0, false
	}
	return StatusValue(l.b[i/4] >> (2 * (i % 4)) & 3), true
}

// Set sets entry i to v, which must fit in 2 bits.
func (l *StatusList) Set(i uint64, v StatusValue) error {
	if i/4 >= uint64(len(l.b)) {
		return fmt.Errorf("credential: status index %d beyond a list of %d", i, l.Len())
	}
	if v > 3 {
		return fmt.Errorf("credential: status value %d does not fit in 2 bits", v)
	}
	shift := 2 * (i % 4)
	l.b[i/4] = l.b[i/4]&^(3<<shift) | byte(v)<<shift
	return nil
}

// Compress returns the list as the draft's "lst": zlib (RFC 1950) at the
// default level. BestCompression saves about 10% of the bytes but took 17
// times as long on a 10M-entry list with 2% of entries set (2.2 s against
// 0.13 s on the reference machine), and re-publishing must stay well under
// a second.
func (l *StatusList) Compress() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(l.b)/64 + 64)
	zw, err := zlib.NewWriterLevel(&buf, zlib.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(l.b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecompressStatusList reads a zlib "lst" strictly: the stream must end
// with a good checksum and nothing after it, and decompression stops at
// MaxStatusListBytes, so a zip bomb is refused after bounded work.
func DecompressStatusList(lst []byte) (*StatusList, error) {
	br := bytes.NewReader(lst)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, statusErr("lst is not zlib: %v", err)
	}
	var out bytes.Buffer
	if n := len(lst) * 8; n < MaxStatusListBytes { // a guess, not a bound
		out.Grow(n)
	}
	n, err := io.Copy(&out, io.LimitReader(zr, MaxStatusListBytes+1))
	if err != nil {
		return nil, statusErr("lst does not decompress: %v", err)
	}
	if n > MaxStatusListBytes {
		return nil, statusErr("lst decompresses to more than %d bytes", MaxStatusListBytes)
	}
	if err := zr.Close(); err != nil {
		return nil, statusErr("lst: %v", err)
	}
	if br.Len() != 0 {
		return nil, statusErr("lst has %d bytes after the zlib stream", br.Len())
	}
	if n == 0 {
		return nil, statusErr("lst is an empty list")
	}
	b := out.Bytes()
	if cap(b) > len(b)+len(b)/8 {
		// A verifier keeps lists for their ttl: keep exactly the list,
		// not the buffer's growth room (up to twice as much).
		b = bytes.Clone(b)
	}
	return &StatusList{b: b}, nil
}

// StatusListClaims are the claims of a status list token, in either form.
type StatusListClaims struct {
	Subject  string        // sub: the URI the list is published at, as in credentials' status claims
	IssuedAt time.Time     // iat, whole seconds
	Expiry   time.Time     // exp: verifiers must not use the token after it
	TTL      time.Duration // ttl: how long a verifier may use its copy before fetching again; whole seconds
	List     *StatusList
}

// StatusListToken is a parsed and verified status list token.
type StatusListToken struct {
	StatusListClaims
	Kid string // the issuer key id, base64url text
}

// KeyLookup finds a trusted issuer key by kid (base64url text, spec §1);
// TrustList.Key in package verify has this shape.
type KeyLookup func(kid string) (*ecdsa.PublicKey, bool)

func (c *StatusListClaims) validate() error {
	switch {
	case c.Subject == "" || !utf8.ValidString(c.Subject):
		return errors.New("credential: status list sub must be a URI")
	case c.IssuedAt.IsZero() || !c.Expiry.After(c.IssuedAt):
		return errors.New("credential: status list exp must be after iat")
	case c.TTL < time.Second || c.TTL%time.Second != 0:
		return errors.New("credential: status list ttl must be whole seconds, at least 1")
	case c.List == nil || len(c.List.b) == 0:
		return errors.New("credential: empty status list")
	}
	return nil
}

// checkSigner checks that kid belongs to signer, as SignEPermit does, and
// returns the signer's key and suite: lists are signed with the active
// key's algorithm (spec §1.1).
func checkSigner(kid []byte, signer crypto.Signer) (*ecdsa.PublicKey, suite, error) {
	pub, suite, err := signerSuite(signer)
	if err != nil {
		return nil, suite, err
	}
	want, err := KeyID(pub)
	if err != nil {
		return nil, suite, err
	}
	if !bytes.Equal(kid, want) {
		return nil, suite, fmt.Errorf("credential: kid %x is not the signer's key id %x", kid, want)
	}
	return pub, suite, nil
}

// statusListProtected is the CWT form's protected header:
// {1: alg, 16: "application/statuslist+cwt"}.
func statusListProtected(s suite) []byte {
	b := appendInt([]byte{majorMap<<5 | 2, hdrAlg}, s.cose)
	return appendText(append(b, hdrTyp), StatusListCWTType)
}

// CWT claim keys of the Token Status List draft.
const (
	claimSub        = 2
	claimTTL        = 65534
	claimStatusList = 65533
)

// prepare checks what both forms sign and returns the compressed list (lst,
// or the claims' list compressed when lst is nil) and the signer's key and
// suite.
func (c *StatusListClaims) prepare(lst, kid []byte, signer crypto.Signer) ([]byte, *ecdsa.PublicKey, suite, error) {
	if err := c.validate(); err != nil {
		return nil, nil, suite{}, err
	}
	pub, s, err := checkSigner(kid, signer)
	if err != nil {
		return nil, nil, s, err
	}
	if lst != nil {
		return lst, pub, s, nil
	}
	lst, err = c.List.Compress()
	return lst, pub, s, err
}

// SignStatusListCWT signs the claims as the CWT form of spec §5: a tagged
// COSE_Sign1 with protected {1: -7, 16: "application/statuslist+cwt"},
// unprotected {4: kid} and the payload {2: sub, 4: exp, 6: iat,
// 65533: {"lst": zlib, "bits": 2}, 65534: ttl} in core deterministic CBOR.
// lst is the compressed list; a nil lst means Compress the claims' list
// (callers signing both forms compress once and pass it).
func SignStatusListCWT(c StatusListClaims, lst []byte, kid []byte, signer crypto.Signer) ([]byte, error) {
	lst, pub, suite, err := c.prepare(lst, kid, signer)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, 0, len(lst)+len(c.Subject)+64)
	payload = appendHead(payload, majorMap, 5)
	payload = appendInt(payload, claimSub)
	payload = appendText(payload, c.Subject)
	payload = appendInt(payload, claimExp)
	payload = appendInt(payload, c.Expiry.Unix())
	payload = appendInt(payload, claimIAT)
	payload = appendInt(payload, c.IssuedAt.Unix())
	payload = appendInt(payload, claimStatusList)
	payload = appendHead(payload, majorMap, 2)
	payload = appendText(payload, "lst") // shorter key first: core deterministic order
	payload = appendBytes(payload, lst)
	payload = appendText(payload, "bits")
	payload = appendInt(payload, 2)
	payload = appendInt(payload, claimTTL)
	payload = appendInt(payload, int64(c.TTL/time.Second))
	protected := statusListProtected(suite)
	h, err := suite.newHash(pub)
	if err != nil {
		return nil, err
	}
	writeSigStructure(h, protected, payload)
	sig, err := suite.sign(signer, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	out := appendSign1(make([]byte, 0, len(payload)+len(protected)+96), protected, kid, payload, sig)
	if len(out) > MaxStatusListCWT {
		return nil, errors.New("credential: status list token over the size bound")
	}
	return out, nil
}

// writeSigStructure writes the Sig_structure into h, streaming it instead
// of copying a payload of any size.
func writeSigStructure(h hash.Hash, protected, payload []byte) {
	var head [64]byte
	b := append(head[:0], majorArray<<5|4, majorText<<5|10)
	b = append(b, "Signature1"...)
	h.Write(b)
	h.Write(appendBytes(head[:0], protected))
	b = append(head[:0], majorBytes<<5|0)
	h.Write(appendHead(b, majorBytes, uint64(len(payload))))
	h.Write(payload)
}

// ParseStatusListCWT parses and verifies the CWT form of spec §5: tag 18,
// alg ES256 only, typ "application/statuslist+cwt", a kid that keys finds,
// a good signature, and the claims sub, iat, exp, ttl and status_list with
// bits 2, all required. Errors match ErrStatusList.
func ParseStatusListCWT(b []byte, keys KeyLookup) (*StatusListToken, error) {
	s, err := readSign1Limit(b, MaxStatusListCWT)
	if err != nil {
		return nil, statusWrap(err)
	}
	if s.detached {
		return nil, statusErr("payload is detached")
	}
	h, err := parseProtected(s.protected)
	if err != nil {
		return nil, statusWrap(err)
	}
	if !supportedCOSE(h.alg) {
		return nil, statusWrap(ErrAlgorithm)
	}
	if h.typ != StatusListCWTType {
		return nil, statusErr("typ is %q, want %q", h.typ, StatusListCWTType)
	}
	kid := base64.RawURLEncoding.EncodeToString(s.kid)
	pub, ok := keys(kid)
	if len(s.kid) == 0 || !ok || pub == nil {
		return nil, statusWrap(ErrUnknownKey)
	}
	// The alg must be the key's (spec §1.1).
	suite, err := suiteOfKey(pub)
	switch {
	case err != nil:
		return nil, statusWrap(ErrBadSignature)
	case suite.cose != h.alg:
		return nil, statusWrap(ErrAlgorithm)
	}
	hs, err := suite.newHash(pub)
	if err != nil {
		return nil, statusWrap(ErrBadSignature)
	}
	writeSigStructure(hs, s.protected, s.payload)
	var sum [64]byte
	if !suite.verify(pub, hs.Sum(sum[:0]), s.signature) {
		return nil, statusWrap(ErrBadSignature)
	}
	t := &StatusListToken{Kid: kid}
	lst, err := parseStatusListPayload(s.payload, &t.StatusListClaims)
	if err != nil {
		return nil, err
	}
	if t.List, err = DecompressStatusList(lst); err != nil {
		return nil, err
	}
	return t, nil
}

// parseStatusListPayload reads the CWT claims and returns the compressed
// list, which it leaves to the caller to decompress (after the checks).
func parseStatusListPayload(b []byte, c *StatusListClaims) ([]byte, error) {
	r := cborReader{b: b}
	var lst []byte
	var ttl int64
	const (
		hSub = 1 << iota
		hIAT
		hExp
		hTTL
		hList
		hAll = 1<<iota - 1
	)
	have := 0
	err := r.eachEntry(func(k mapKey) error {
		var err error
		label, isInt := k.intKey()
		if !isInt {
			label = 0
		}
		switch label {
		case claimSub:
			have |= hSub
			c.Subject, err = r.readString()
		case claimIAT:
			have |= hIAT
			c.IssuedAt, err = r.readTime()
		case claimExp:
			have |= hExp
			c.Expiry, err = r.readTime()
		case claimTTL:
			have |= hTTL
			ttl, err = r.readInt()
		case claimStatusList:
			have |= hList
			lst, err = r.readStatusListClaim()
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return nil, statusWrap(err)
	}
	if err := r.done(); err != nil {
		return nil, statusWrap(err)
	}
	if have != hAll {
		return nil, statusErr("sub, iat, exp, ttl and status_list are all required")
	}
	if err := checkTimes(c, ttl); err != nil {
		return nil, err
	}
	return lst, nil
}

// checkTimes checks the claims' times and sets the ttl.
func checkTimes(c *StatusListClaims, ttl int64) error {
	if c.Subject == "" {
		return statusErr("sub is empty")
	}
	if !c.Expiry.After(c.IssuedAt) {
		return statusErr("exp is not after iat")
	}
	// A ttl over a year is a mistake, and bounding it keeps the Duration
	// from overflowing.
	if ttl < 1 || ttl > 366*24*3600 {
		return statusErr("ttl %d is not between 1 s and a year", ttl)
	}
	c.TTL = time.Duration(ttl) * time.Second
	return nil
}

// readStatusListClaim reads {"bits": 2, "lst": bytes}; other members (the
// draft's aggregation_uri) are skipped.
func (r *cborReader) readStatusListClaim() ([]byte, error) {
	var lst []byte
	var bits uint64
	var haveBits, haveLst bool
	err := r.eachEntry(func(k mapKey) error {
		var err error
		switch {
		case k.textKey("bits"):
			haveBits = true
			bits, err = r.readUint()
		case k.textKey("lst"):
			haveLst = true
			lst, err = r.readBytes()
		default:
			err = r.skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !haveBits || !haveLst {
		return nil, cborErr(ErrCBOR, "status_list needs bits and lst")
	}
	if bits != 2 {
		return nil, cborErr(ErrCBOR, "status_list bits must be 2")
	}
	return lst, nil
}

// The JWT form. encoding/json writes struct fields in declaration order,
// which makes the token bytes deterministic (up to the ECDSA signature).

type statusListJWTHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type statusListJWTClaims struct {
	Sub        string              `json:"sub"`
	IAT        int64               `json:"iat"`
	Exp        int64               `json:"exp"`
	TTL        int64               `json:"ttl"`
	StatusList statusListJWTMember `json:"status_list"`
}

type statusListJWTMember struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// SignStatusListJWT signs the claims as the JWT form of spec §5: header
// {"alg":"ES256","typ":"statuslist+jwt","kid":…}, claims sub, iat, exp, ttl
// and status_list {bits: 2, lst: base64url(zlib)}, in JWS compact form with
// the 64-byte r||s signature of RFC 7518 §3.4. lst is as for
// SignStatusListCWT.
func SignStatusListJWT(c StatusListClaims, lst []byte, kid []byte, signer crypto.Signer) ([]byte, error) {
	lst, pub, suite, err := c.prepare(lst, kid, signer)
	if err != nil {
		return nil, err
	}
	enc := base64.RawURLEncoding
	header, err := MarshalJSON(statusListJWTHeader{Alg: suite.jose, Typ: statusListJWTTyp, Kid: enc.EncodeToString(kid)})
	if err != nil {
		return nil, err
	}
	claims, err := MarshalJSON(statusListJWTClaims{Sub: c.Subject, IAT: c.IssuedAt.Unix(), Exp: c.Expiry.Unix(),
		TTL: int64(c.TTL / time.Second), StatusList: statusListJWTMember{Bits: 2, Lst: enc.EncodeToString(lst)}})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, enc.EncodedLen(len(header))+enc.EncodedLen(len(claims))+90)
	out = enc.AppendEncode(out, header)
	out = append(out, '.')
	out = enc.AppendEncode(out, claims)
	sig, err := suite.signMessage(signer, pub, out)
	if err != nil {
		return nil, err
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig)
	if len(out) > MaxStatusListJWT {
		return nil, errors.New("credential: status list token over the size bound")
	}
	return out, nil
}

// MarshalJSON is json.Marshal without HTML escaping, so a URI's & stays &:
// the encoding of every JSON payload epermit signs.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseStatusListJWT parses and verifies the JWT form of spec §5: compact
// JWS, alg ES256 only, typ "statuslist+jwt", no crit, a kid that keys finds,
// a good signature, and the claims sub, iat, exp, ttl (integers) and
// status_list with bits 2, all required. JSON objects with a duplicate
// member are refused, as JSON parsers disagree on which one wins. Errors
// match ErrStatusList.
func ParseStatusListJWT(b []byte, keys KeyLookup) (*StatusListToken, error) {
	if len(b) > MaxStatusListJWT {
		return nil, statusErr("token over %d bytes", MaxStatusListJWT)
	}
	s := string(b)
	h64, rest, ok1 := strings.Cut(s, ".")
	c64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig64, ".") {
		return nil, statusErr("not a JWS in compact form")
	}
	enc := base64.RawURLEncoding.Strict()
	hb, err := enc.DecodeString(h64)
	if err != nil {
		return nil, statusErr("header is not base64url")
	}
	var hdr struct {
		Alg  *string         `json:"alg"`
		Typ  *string         `json:"typ"`
		Kid  *string         `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := strictJSON(hb, &hdr); err != nil {
		return nil, statusErr("header: %v", err)
	}
	if hdr.Alg == nil {
		return nil, statusWrap(ErrAlgorithm)
	}
	if _, ok := suiteOfJOSE(*hdr.Alg); !ok {
		return nil, statusWrap(ErrAlgorithm)
	}
	if hdr.Typ == nil || *hdr.Typ != statusListJWTTyp {
		return nil, statusErr("typ is not %q", statusListJWTTyp)
	}
	if hdr.Crit != nil {
		return nil, statusErr("critical header parameters are not supported")
	}
	if hdr.Kid == nil {
		return nil, statusWrap(ErrUnknownKey)
	}
	pub, ok := keys(*hdr.Kid)
	if !ok || pub == nil {
		return nil, statusWrap(ErrUnknownKey)
	}
	sig, err := enc.DecodeString(sig64)
	if err != nil {
		return nil, statusErr("signature is not base64url")
	}
	// The alg must be the key's (spec §1.1).
	suite, err := suiteOfKey(pub)
	switch {
	case err != nil:
		return nil, statusWrap(ErrBadSignature)
	case suite.jose != *hdr.Alg:
		return nil, statusWrap(ErrAlgorithm)
	}
	if !suite.verifyMessage(pub, sig, b[:len(h64)+1+len(c64)]) {
		return nil, statusWrap(ErrBadSignature)
	}
	cb, err := enc.DecodeString(c64)
	if err != nil {
		return nil, statusErr("claims are not base64url")
	}
	var cl struct {
		Sub        *string      `json:"sub"`
		IAT        *json.Number `json:"iat"`
		Exp        *json.Number `json:"exp"`
		TTL        *json.Number `json:"ttl"`
		StatusList *struct {
			Bits *json.Number `json:"bits"`
			Lst  *string      `json:"lst"`
		} `json:"status_list"`
	}
	if err := strictJSON(cb, &cl); err != nil {
		return nil, statusErr("claims: %v", err)
	}
	if cl.Sub == nil || cl.IAT == nil || cl.Exp == nil || cl.TTL == nil || cl.StatusList == nil ||
		cl.StatusList.Bits == nil || cl.StatusList.Lst == nil {
		return nil, statusErr("sub, iat, exp, ttl and status_list {bits, lst} are all required")
	}
	if bits, err := cl.StatusList.Bits.Int64(); err != nil || bits != 2 {
		return nil, statusErr("status_list bits must be 2")
	}
	iat, err1 := cl.IAT.Int64()
	exp, err2 := cl.Exp.Int64()
	ttl, err3 := cl.TTL.Int64()
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, statusErr("iat, exp and ttl must be integers")
	}
	t := &StatusListToken{Kid: *hdr.Kid}
	t.Subject, t.IssuedAt, t.Expiry = *cl.Sub, time.Unix(iat, 0).UTC(), time.Unix(exp, 0).UTC()
	if err := checkTimes(&t.StatusListClaims, ttl); err != nil {
		return nil, err
	}
	lst, err := enc.DecodeString(*cl.StatusList.Lst)
	if err != nil {
		return nil, statusErr("lst is not base64url")
	}
	if t.List, err = DecompressStatusList(lst); err != nil {
		return nil, err
	}
	return t, nil
}
