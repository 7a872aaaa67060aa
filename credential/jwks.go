package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeyID returns the key id of spec §1: the first 8 bytes of SHA-256 over the
// key's DER SubjectPublicKeyInfo (for an SM2 key, id-ecPublicKey with the
// SM2 curve OID). COSE carries these raw bytes; JOSE carries
// their base64url text (see KeyIDString).
func KeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:8], nil
}

// KeyIDString is KeyID as unpadded base64url text, the form used in JOSE
// headers, JWKs and epermit's own records.
func KeyIDString(pub *ecdsa.PublicKey) (string, error) {
	kid, err := KeyID(pub)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(kid), nil
}

// JWK is one issuer key of the trust list, an EC public key as RFC 7517:
// crv P-256 with alg ES256, or crv SM2 with alg SM2 (spec §1.1).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKSet is the trust list: every issuer key that may still have valid
// credentials.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// NewJWK returns the trust-list entry for an issuer public key: a P-256 key,
// or a key of a registered algorithm (SM2).
func NewJWK(pub *ecdsa.PublicKey) (JWK, error) {
	s, err := suiteOfKey(pub)
	if err != nil {
		return JWK{}, fmt.Errorf("credential: issuer keys must be P-256 or of a registered algorithm: %w", err)
	}
	kid, err := KeyIDString(pub)
	if err != nil {
		return JWK{}, err
	}
	crv := CrvP256
	if !s.isES256() {
		crv = s.ext.Crv()
	}
	var x, y [32]byte
	if pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return JWK{}, errors.New("credential: issuer key coordinates over 256 bits")
	}
	pub.X.FillBytes(x[:])
	pub.Y.FillBytes(y[:])
	enc := base64.RawURLEncoding
	return JWK{Kty: "EC", Crv: crv, X: enc.EncodeToString(x[:]), Y: enc.EncodeToString(y[:]),
		Kid: kid, Alg: s.jose, Use: "sig"}, nil
}

// PublicKey returns the key of j after checking that it is an issuer
// signing key whose alg is its curve's (ES256 for P-256, SM2 for SM2) and
// whose kid is the one spec §1 derives from it: the check for trust-list
// entries. A well-formed key of a suite this program was built without is
// ErrUnsupportedKey.
func (j JWK) PublicKey() (*ecdsa.PublicKey, error) {
	s, err := suiteOfCrv(j.Crv)
	if errors.Is(err, ErrUnsupportedKey) && j.Kty == "EC" {
		return nil, fmt.Errorf("credential: key %q: %w", j.Kid, err)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: key %q is not an EC P-256 or SM2 key", j.Kid)
	}
	var pub *ecdsa.PublicKey
	if s.isES256() {
		if pub, err = j.Key(); err != nil {
			return nil, err
		}
	} else if pub, err = j.extKey(s); err != nil {
		return nil, err
	}
	kid, err := KeyIDString(pub)
	if err != nil {
		return nil, err
	}
	if kid != j.Kid {
		return nil, fmt.Errorf("credential: key %q: kid should be %q", j.Kid, kid)
	}
	return pub, nil
}

// extKey parses j as a key of the registered suite s.
func (j JWK) extKey(s suite) (*ecdsa.PublicKey, error) {
	if j.Kty != "EC" {
		return nil, fmt.Errorf("credential: key %q is not an EC key", j.Kid)
	}
	if j.Alg != "" && j.Alg != s.jose {
		return nil, fmt.Errorf("credential: key %q is for %q, not %s", j.Kid, j.Alg, s.jose)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("credential: key %q is not a signing key", j.Kid)
	}
	x, errX := base64.RawURLEncoding.DecodeString(j.X)
	y, errY := base64.RawURLEncoding.DecodeString(j.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("credential: key %q has malformed coordinates", j.Kid)
	}
	pub, err := s.ext.ParsePoint(append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("credential: key %q is not a point on %s", j.Kid, s.ext.Crv())
	}
	return pub, nil
}

// Key returns the P-256 key of j whatever its kid: the check for a holder's
// device key, which has no kid of its own.
func (j JWK) Key() (*ecdsa.PublicKey, error) {
	if j.Kty != "EC" || j.Crv != "P-256" {
		return nil, fmt.Errorf("credential: key %q is not an EC P-256 key", j.Kid)
	}
	if j.Alg != "" && j.Alg != "ES256" {
		return nil, fmt.Errorf("credential: key %q is for %q, not ES256", j.Kid, j.Alg)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("credential: key %q is not a signing key", j.Kid)
	}
	x, errX := base64.RawURLEncoding.DecodeString(j.X)
	y, errY := base64.RawURLEncoding.DecodeString(j.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("credential: key %q has malformed coordinates", j.Kid)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("credential: key %q is not a point on P-256", j.Kid)
	}
	return pub, nil
}

// ParseJWKSet parses a trust list and returns its keys by kid text. Any
// malformed key makes the whole list invalid: a verifier should not run on a
// half-understood trust list. The one exception is a key of a suite of spec
// §1.1 this program was built without (crv SM2 with no SM2 registered): it
// is left out, so that an ES256-only verifier keeps working with a list
// holding both suites and treats what such a key signed as signed by an
// unknown key.
func ParseJWKSet(data []byte) (map[string]*ecdsa.PublicKey, error) {
	var set JWKSet
	if err := unmarshalExact(data, &set); err != nil {
		return nil, fmt.Errorf("credential: trust list: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(set.Keys))
	for _, j := range set.Keys {
		pub, err := j.PublicKey()
		if errors.Is(err, ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keys[j.Kid] = pub
	}
	return keys, nil
}
