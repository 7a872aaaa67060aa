package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
)

// QRPrefix starts every EP1 QR text (spec §3); a new format gets a new
// prefix, so the prefix is the version.
const QRPrefix = "EP1:"

// maxQRText is the longest QR text whose base45 could decode to at most
// maxCBORSize bytes; anything longer is refused without decoding it.
const maxQRText = len(QRPrefix) + maxCBORSize/2*3

// MaxQRText is the longest EP1 text spec §3 allows an issued credential to
// make (QR version 16 at error correction level M); see QRTextLen.
const MaxQRText = 620

// proofLen is the size of every proof Present makes: ES256 signatures
// are 64 bytes, and iat takes 4 bytes until 2106.
var proofLen = len(appendSign1(nil, proofProtected(1<<31), nil, nil, make([]byte, 64)))

// QRTextLen returns the length of the EP1 text of every presentation of a
// credential, whatever the holder key and time: what an issuer checks
// against MaxQRText.
func QRTextLen(credential []byte) int {
	n := len(appendHead(nil, majorArray, 2)) + len(appendBytes(nil, credential)) + len(appendHead(nil, majorBytes, uint64(proofLen))) + proofLen
	return len(QRPrefix) + base45EncodedLen(n)
}

func proofProtected(iat int64) []byte {
	protected := make([]byte, 0, 16)
	protected = appendHead(protected, majorMap, 2)
	protected = appendInt(protected, hdrAlg)
	protected = appendInt(protected, AlgES256)
	protected = appendInt(protected, hdrCWTClaims)
	protected = appendHead(protected, majorMap, 1)
	protected = appendInt(protected, claimIAT)
	return appendInt(protected, iat)
}

// Presentation is a parsed gate presentation (spec §3): the credential as
// issued and the holder's proof of possession of the cnf key. Byte fields
// alias the decoded QR bytes.
type Presentation struct {
	// Credential is the issuer-signed e-permit; Credential.Raw holds its
	// exact bytes, the ones the proof signs over.
	Credential EPermit
	// ProofAlg is the proof's protected alg (0 when absent or a name).
	ProofAlg int64
	// ProofIssuedAt is the proof's iat (CWT claim 6 in protected header 15):
	// when the holder's device made the QR. Whole seconds.
	ProofIssuedAt time.Time
	// ProofSignature is the proof's r||s as carried.
	ProofSignature []byte

	proofProtected []byte
}

// Present builds the gate presentation (spec §3) for a credential the
// holder's device stores: the CBOR array [credential, proof], where proof is
// a COSE_Sign1 with protected {1: -7, 15: {6: iat}}, unprotected {}, and the
// detached payload SHA-256(credential), signed with the holder key. It
// refuses a holder key that is not the credential's cnf key, since no
// verifier could accept the result.
func Present(credential []byte, holder crypto.Signer, at time.Time) ([]byte, error) {
	pub, err := signerP256(holder)
	if err != nil {
		return nil, err
	}
	e, err := ParseEPermit(credential)
	if err != nil {
		return nil, err
	}
	if !e.Claims.Holder.Equal(pub) {
		return nil, errors.New("credential: holder key is not the credential's cnf key")
	}
	protected := proofProtected(at.Unix())
	credDigest := sha256.Sum256(credential)
	digest := sigStructureDigest(protected, credDigest[:])
	sig, err := signES256(holder, digest[:])
	if err != nil {
		return nil, err
	}
	proof := appendSign1(make([]byte, 0, 96), protected, nil, nil, sig)
	out := make([]byte, 0, len(credential)+len(proof)+8)
	out = appendHead(out, majorArray, 2)
	out = appendBytes(out, credential)
	out = appendBytes(out, proof)
	if len(out) > maxCBORSize {
		return nil, errors.New("credential: presentation over 2048 bytes")
	}
	return out, nil
}

// EncodeQR returns the QR text of a presentation: "EP1:" + base45. Every
// character is in the QR alphanumeric set.
func EncodeQR(presentation []byte) string {
	b := make([]byte, 0, len(QRPrefix)+base45EncodedLen(len(presentation)))
	b = append(b, QRPrefix...)
	return string(appendBase45(b, presentation))
}

// ParseQR parses scanned QR text, running spec §4 checks 1–3 in order:
// the EP1: prefix, strict base45, then ParsePresentation's CBOR rules. Any
// failure is a *FormatError (errors.Is(err, ErrFormat)).
func ParseQR(text string) (*Presentation, error) {
	rest, ok := strings.CutPrefix(text, QRPrefix)
	if !ok {
		return nil, formatErr(1, ErrPrefix, "")
	}
	if len(text) > maxQRText {
		// Too long to be ≤ 2048 bytes; still report a base45 error first.
		if err := checkBase45(rest); err != nil {
			return nil, err
		}
		return nil, cborErr(ErrTooLong, "")
	}
	buf, err := decodeBase45(make([]byte, 0, base45DecodedLen(len(rest))), rest)
	if err != nil {
		return nil, err
	}
	return ParsePresentation(buf)
}

// ParsePresentation parses the CBOR presentation [credential, proof]
// strictly (spec §4 check 3, then the structure of §2 and §3). It checks no
// signature and no time: see CheckAlgorithms, VerifyIssuer and
// VerifyHolderProof. b is retained.
func ParsePresentation(b []byte) (*Presentation, error) {
	if len(b) > maxCBORSize {
		return nil, cborErr(ErrTooLong, "")
	}
	r := cborReader{b: b}
	n, err := r.readArray()
	if err != nil {
		return nil, err
	}
	if n != 2 {
		return nil, cborErr(ErrCBOR, "presentation is not [credential, proof]")
	}
	cred, err := r.readBytes()
	if err != nil {
		return nil, err
	}
	proof, err := r.readBytes()
	if err != nil {
		return nil, err
	}
	r.leave()
	if err := r.done(); err != nil {
		return nil, err
	}
	p := new(Presentation)
	if err := p.Credential.parse(cred); err != nil {
		return nil, err
	}
	s, err := readSign1(proof)
	if err != nil {
		return nil, err
	}
	if !s.detached {
		return nil, cborErr(ErrCBOR, "proof payload is not detached")
	}
	h, err := parseProtected(s.protected)
	if err != nil {
		return nil, err
	}
	if !h.hasIAT {
		return nil, cborErr(ErrCBOR, "proof has no iat")
	}
	p.ProofAlg = h.alg
	p.ProofIssuedAt = time.Unix(h.iat, 0).UTC()
	p.ProofSignature = s.signature
	p.proofProtected = s.protected
	return p, nil
}

// CheckAlgorithms is spec §4 check 5 as far as it needs no key: the proof
// must be ES256 and the credential ES256 or an algorithm this program
// supports. VerifyIssuer completes it: the credential's alg must be the
// trust-list key's.
func (p *Presentation) CheckAlgorithms() error {
	if p.ProofAlg != AlgES256 || !supportedCOSE(p.Credential.Alg) {
		return ErrAlgorithm
	}
	return nil
}

// VerifyIssuer checks the credential's issuer signature (checks 5 and 6)
// with the trust-list key for p.Credential.Kid.
func (p *Presentation) VerifyIssuer(issuer *ecdsa.PublicKey) error {
	return p.Credential.VerifySignature(issuer)
}

// VerifyHolderProof checks the proof signature (checks 5 and 8) with the
// credential's cnf key over the detached payload SHA-256(credential). It
// returns ErrAlgorithm or ErrBadHolderProof.
func (p *Presentation) VerifyHolderProof() error {
	if p.ProofAlg != AlgES256 {
		return ErrAlgorithm
	}
	credDigest := sha256.Sum256(p.Credential.Raw)
	digest := sigStructureDigest(p.proofProtected, credDigest[:])
	if !verifyES256(p.Credential.Claims.Holder, &digest, p.ProofSignature) {
		return ErrBadHolderProof
	}
	return nil
}
