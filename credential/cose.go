package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// AlgES256 is the COSE algorithm id of ES256 (RFC 9053), the only algorithm
// spec §1 allows.
const AlgES256 = -7

// COSE tag and header labels (RFC 9052, RFC 9597).
const (
	tagCOSESign1 = 18
	hdrAlg       = 1
	hdrCrit      = 2
	hdrKid       = 4
	hdrCWTClaims = 15
	hdrTyp       = 16 // RFC 9596: the content type of the whole COSE object
)

// sign1 is a COSE_Sign1 split into its parts, headers not yet interpreted.
type sign1 struct {
	protected []byte // the protected header bstr contents, as signed
	kid       []byte // unprotected label 4, nil when absent
	payload   []byte // nil when detached
	detached  bool
	signature []byte
}

// readSign1 parses a tagged COSE_Sign1 of at most maxCBORSize bytes. Byte
// fields alias b.
func readSign1(b []byte) (sign1, error) { return readSign1Limit(b, maxCBORSize) }

// readSign1Limit is readSign1 with another size bound, for status list
// tokens, whose payload grows with the list.
func readSign1Limit(b []byte, limit int) (sign1, error) {
	var s sign1
	if len(b) > limit {
		return s, cborErr(ErrTooLong, "")
	}
	r := cborReader{b: b}
	if err := r.readTag(tagCOSESign1); err != nil {
		return s, err
	}
	n, err := r.readArray()
	if err != nil {
		return s, err
	}
	if n != 4 {
		return s, cborErr(ErrCBOR, "COSE_Sign1 is not an array of 4")
	}
	if s.protected, err = r.readBytes(); err != nil {
		return s, err
	}
	if s.kid, err = r.readUnprotected(); err != nil {
		return s, err
	}
	major, ai, err := r.peek()
	if err != nil {
		return s, err
	}
	if major == majorOther && ai == simpleNull {
		r.off++
		s.detached = true
	} else if s.payload, err = r.readBytes(); err != nil {
		return s, err
	}
	if s.signature, err = r.readBytes(); err != nil {
		return s, err
	}
	r.leave()
	r.leave()
	return s, r.done()
}

// readUnprotected reads the unprotected header map and returns its kid.
// alg and crit there are refused: RFC 9052 wants them integrity-protected.
func (r *cborReader) readUnprotected() (kid []byte, err error) {
	err = r.eachEntry(func(k mapKey) error {
		label, _ := k.intKey()
		switch {
		case k.major == majorUint && label == hdrKid:
			var err error
			kid, err = r.readBytes()
			return err
		case k.major == majorUint && (label == hdrAlg || label == hdrCrit):
			return cborErr(ErrCBOR, "alg or crit in the unprotected header")
		}
		return r.skip()
	})
	if err != nil {
		return nil, err
	}
	return kid, nil
}

// protectedHeader is what the formats read from a protected header.
type protectedHeader struct {
	alg    int64 // 0 (reserved in COSE) when absent or a text name
	iat    int64 // CWT claim 6 in header 15 (RFC 9597)
	hasIAT bool
	typ    string // header 16 when it is text; "" when absent or a CoAP content format
}

// parseProtected parses the protected header bstr contents. crit is refused
// because no critical extension is understood.
func parseProtected(b []byte) (protectedHeader, error) {
	var h protectedHeader
	if len(b) == 0 { // RFC 9052 §3: an empty protected header is h''
		return h, nil
	}
	r := cborReader{b: b}
	err := r.eachEntry(func(k mapKey) error {
		label, _ := k.intKey()
		switch {
		case k.major == majorUint && label == hdrAlg:
			major, _, err := r.peek()
			if err != nil {
				return err
			}
			if major == majorText { // a named alg is never ES256's -7
				_, err = r.readText()
			} else {
				h.alg, err = r.readInt()
			}
			return err
		case k.major == majorUint && label == hdrCrit:
			return cborErr(ErrCBOR, "critical header parameters are not supported")
		case k.major == majorUint && label == hdrCWTClaims:
			return r.readHeaderClaims(&h)
		case k.major == majorUint && label == hdrTyp:
			if major, _, err := r.peek(); err == nil && major == majorText {
				h.typ, err = r.readString()
				return err
			}
			return r.skip()
		}
		return r.skip()
	})
	if err != nil {
		return h, err
	}
	return h, r.done()
}

func (r *cborReader) readHeaderClaims(h *protectedHeader) error {
	return r.eachEntry(func(k mapKey) error {
		if label, _ := k.intKey(); k.major == majorUint && label == claimIAT {
			var err error
			h.iat, err = r.readInt()
			h.hasIAT = err == nil
			return err
		}
		return r.skip()
	})
}

// appendSign1 appends a tagged COSE_Sign1; a nil payload is detached (null)
// and a nil kid gives an empty unprotected map.
func appendSign1(b, protected, kid, payload, sig []byte) []byte {
	b = appendHead(b, majorTag, tagCOSESign1)
	b = appendHead(b, majorArray, 4)
	b = appendBytes(b, protected)
	if kid != nil {
		b = appendHead(b, majorMap, 1)
		b = appendInt(b, hdrKid)
		b = appendBytes(b, kid)
	} else {
		b = appendHead(b, majorMap, 0)
	}
	if payload != nil {
		b = appendBytes(b, payload)
	} else {
		b = append(b, majorOther<<5|simpleNull)
	}
	return appendBytes(b, sig)
}

// appendSigStructure appends the COSE Sig_structure of RFC 9052 §4.4:
// ["Signature1", protected, external_aad, payload] with an empty
// external_aad.
func appendSigStructure(b, protected, payload []byte) []byte {
	b = append(b, majorArray<<5|4, majorText<<5|10)
	b = append(b, "Signature1"...)
	b = appendBytes(b, protected)
	b = append(b, majorBytes<<5|0)
	return appendBytes(b, payload)
}

// sigStructureDigest is SHA-256 over the Sig_structure. It builds the
// structure in a stack buffer so verification does not allocate for it.
func sigStructureDigest(protected, payload []byte) [32]byte {
	var stack [768]byte
	return sha256.Sum256(appendSigStructure(stack[:0], protected, payload))
}

// protectedAlg is the protected header {1: alg} of an issuer signature.
func protectedAlg(s suite) []byte {
	if s.isES256() {
		return []byte{majorMap<<5 | 1, hdrAlg, majorNeg<<5 | 6} // {1: -7}
	}
	return appendInt([]byte{majorMap<<5 | 1, hdrAlg}, s.cose)
}

// signSign1 signs the Sig_structure of a COSE_Sign1 with the issuer's suite.
func signSign1(s suite, signer crypto.Signer, pub *ecdsa.PublicKey, protected, payload []byte) ([]byte, error) {
	if s.isES256() {
		digest := sigStructureDigest(protected, payload)
		return signES256(signer, digest[:])
	}
	return s.signMessage(signer, pub, appendSigStructure(nil, protected, payload))
}

// verifySign1 checks a COSE_Sign1 issuer signature made with suite s.
func verifySign1(s suite, pub *ecdsa.PublicKey, protected, payload, sig []byte) bool {
	if s.isES256() {
		digest := sigStructureDigest(protected, payload)
		return verifyES256(pub, &digest, sig)
	}
	var stack [768]byte
	return s.verifyMessage(pub, sig, appendSigStructure(stack[:0], protected, payload))
}

// signES256 signs a digest with a crypto.Signer (file key or HSM) and
// returns the COSE form r||s, 32 bytes each (RFC 9053 §2.1), converted from
// the ASN.1 DER that crypto.Signer returns for ECDSA keys.
func signES256(signer crypto.Signer, digest []byte) ([]byte, error) {
	der, err := signer.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("credential: signing: %w", err)
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("credential: signer returned no ASN.1 ECDSA P-256 signature")
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

// verifyES256 checks a COSE r||s signature. It re-encodes r||s as DER in a
// stack buffer because ecdsa.VerifyASN1 is the standard library's
// allocation-free verification entry point.
func verifyES256(pub *ecdsa.PublicKey, digest *[32]byte, sig []byte) bool {
	if len(sig) != 64 || !isP256(pub) {
		return false
	}
	var buf [72]byte
	var body [70]byte
	ints := appendDERInt(appendDERInt(body[:0], sig[:32]), sig[32:])
	der := append(append(buf[:0], 0x30, byte(len(ints))), ints...)
	return ecdsa.VerifyASN1(pub, digest[:], der)
}

// appendDERInt appends a DER INTEGER holding the unsigned big-endian v.
func appendDERInt(b, v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	if v[0]&0x80 != 0 {
		return append(append(b, 0x02, byte(len(v)+1), 0), v...)
	}
	return append(append(b, 0x02, byte(len(v))), v...)
}

func isP256(pub *ecdsa.PublicKey) bool { return pub != nil && pub.Curve == elliptic.P256() }

// signerP256 returns the signer's public key if it is an ECDSA P-256 key.
func signerP256(signer crypto.Signer) (*ecdsa.PublicKey, error) {
	if signer == nil {
		return nil, errors.New("credential: no signer")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || !isP256(pub) {
		return nil, errors.New("credential: signer is not an ECDSA P-256 key (ES256)")
	}
	return pub, nil
}
