package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OpenID4VCI 1.0 (spec/formats.md §9): the key proof a wallet sends with a
// credential request, a JWT of type openid4vci-proof+jwt signed with the
// device key it carries in its header.

// OpenID4VCI identifiers of spec/formats.md §9.
const (
	TypProofJWT = "openid4vci-proof+jwt" // the key proof's typ
	// FormatEP1 is the OpenID4VCI credential format identifier of the
	// e-permit (spec §2's COSE_Sign1, base64url in the credential response).
	FormatEP1 = "epermit_ep1"
	// FormatSDJWT is the OpenID4VCI format of the linkage proof.
	FormatSDJWT = "dc+sd-jwt"
)

// ErrProof is any key proof that fails a check of spec/formats.md §9.
var ErrProof = errors.New("credential: invalid key proof")

// ProofJWT is a checked key proof.
type ProofJWT struct {
	Holder   *ecdsa.PublicKey // the header's jwk: the key the credential is bound to
	Audience string
	Nonce    string
	IssuedAt time.Time
	Issuer   string // the wallet's client_id, when it sends one
}

type proofHeader struct {
	Alg  string           `json:"alg"`
	Typ  string           `json:"typ"`
	JWK  *JWK             `json:"jwk"`
	Kid  string           `json:"kid"`
	X5c  json.RawMessage  `json:"x5c"`
	Crit *json.RawMessage `json:"crit"`
}

type proofClaims struct {
	Aud   audience `json:"aud"`
	Iat   *int64   `json:"iat"`
	Nonce string   `json:"nonce"`
	Iss   string   `json:"iss"`
}

// audience is a JWT aud: one string, or an array of strings (RFC 7519
// §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

// MaxProofLength bounds a key proof, in bytes.
const MaxProofLength = 4096

// ParseProofJWT checks a key proof's form and signature: typ
// openid4vci-proof+jwt, alg ES256, a P-256 jwk in the header (no kid, no
// x5c), and an ES256 signature by that key. It checks nothing about aud,
// nonce or time: the caller does, against its own state.
func ParseProofJWT(jwt string) (*ProofJWT, error) {
	if len(jwt) > MaxProofLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrProof, MaxProofLength)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: a JWT has three parts", ErrProof)
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("%w: a JWT part is not base64url", ErrProof)
	}
	var h proofHeader
	if err := strictJSON(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrProof, err)
	}
	switch {
	case h.Typ != TypProofJWT:
		return nil, fmt.Errorf("%w: typ must be %s", ErrProof, TypProofJWT)
	case h.Alg != "ES256":
		return nil, fmt.Errorf("%w: alg must be ES256", ErrProof)
	case h.Crit != nil:
		return nil, fmt.Errorf("%w: crit extensions are not understood", ErrProof)
	case h.JWK == nil || h.Kid != "" || h.X5c != nil:
		return nil, fmt.Errorf("%w: the header must carry the key as jwk, and no kid or x5c", ErrProof)
	}
	pub, err := h.JWK.Key()
	if err != nil {
		return nil, fmt.Errorf("%w: jwk: %v", ErrProof, err)
	}
	if !verifyJWS(pub, parts[0]+"."+parts[1], sig) {
		return nil, fmt.Errorf("%w: the signature does not verify with the header's jwk", ErrProof)
	}
	var c proofClaims
	if err := strictJSON(pb, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrProof, err)
	}
	if len(c.Aud) != 1 || c.Iat == nil {
		return nil, fmt.Errorf("%w: aud (one audience) and iat are required", ErrProof)
	}
	return &ProofJWT{Holder: pub, Audience: c.Aud[0], Nonce: c.Nonce, IssuedAt: time.Unix(*c.Iat, 0).UTC(), Issuer: c.Iss}, nil
}

// MakeProofJWT signs a key proof for aud and nonce at time at with the
// device key holder: what a wallet sends (the project's tests and tools).
func MakeProofJWT(holder crypto.Signer, aud, nonce string, at time.Time) (string, error) {
	pub, ok := holder.Public().(*ecdsa.PublicKey)
	if !ok {
		return "", errors.New("credential: the device key must be ECDSA P-256")
	}
	j, err := NewJWK(pub)
	if err != nil {
		return "", err
	}
	h, err := json.Marshal(map[string]any{"alg": "ES256", "typ": TypProofJWT,
		"jwk": map[string]string{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y}})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(map[string]any{"aud": aud, "iat": at.Unix(), "nonce": nonce})
	if err != nil {
		return "", err
	}
	return signCompact(h, p, holder)
}

// signCompact signs header and payload JSON as a compact ES256 JWS.
func signCompact(header, payload []byte, signer crypto.Signer) (string, error) {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256Sum(input)
	sig, err := signES256(signer, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
