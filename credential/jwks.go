package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeyID returns the key id of spec §1: the first 8 bytes of SHA-256 over the
// key's DER SubjectPublicKeyInfo. COSE carries these raw bytes; JOSE carries
// their base64url text (see KeyIDString).
func KeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
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

// JWK is one issuer key of the trust list, a P-256 public key as RFC 7517.
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

// NewJWK returns the trust-list entry for an issuer public key.
func NewJWK(pub *ecdsa.PublicKey) (JWK, error) {
	if pub.Curve != elliptic.P256() {
		return JWK{}, errors.New("credential: issuer keys must be P-256")
	}
	kid, err := KeyIDString(pub)
	if err != nil {
		return JWK{}, err
	}
	b, err := pub.Bytes() // uncompressed point: 0x04 || x || y
	if err != nil {
		return JWK{}, err
	}
	enc := base64.RawURLEncoding
	return JWK{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(b[1:33]), Y: enc.EncodeToString(b[33:]),
		Kid: kid, Alg: "ES256", Use: "sig"}, nil
}

// PublicKey returns the key of j after checking that it is a P-256 signing
// key for ES256 whose kid is the one spec §1 derives from it: the check for
// trust-list entries.
func (j JWK) PublicKey() (*ecdsa.PublicKey, error) {
	pub, err := j.Key()
	if err != nil {
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
// half-understood trust list.
func ParseJWKSet(data []byte) (map[string]*ecdsa.PublicKey, error) {
	var set JWKSet
	if err := unmarshalExact(data, &set); err != nil {
		return nil, fmt.Errorf("credential: trust list: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(set.Keys))
	for _, j := range set.Keys {
		pub, err := j.PublicKey()
		if err != nil {
			return nil, err
		}
		keys[j.Kid] = pub
	}
	return keys, nil
}
