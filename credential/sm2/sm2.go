// Package sm2 adds the national signature suite of spec/formats.md §1.1,
// SM2 with SM3 (GB/T 32918, GB/T 32905) and the default distinguishing ID
// 1234567812345678, to package credential. Importing it registers the
// suite, after which credential (and package verify, which uses it) signs
// with SM2 issuer keys and accepts SM2 keys in trust lists and SM2
// signatures on e-permits, status lists and linkage proofs:
//
//	import _ "github.com/epermit/epermit/credential/sm2"
//
// It is a package of its own so that a verifier that needs only ES256 links
// no SM2 code: credential and verify depend on the standard library alone,
// this package on github.com/emmansun/gmsm.
package sm2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sync"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/epermit/epermit/credential"
)

func init() { credential.RegisterAlgorithm(Algorithm{}) }

// Algorithm is the SM2 suite as a credential.Algorithm.
type Algorithm struct{}

// COSE is -70100 (spec §1.1, private use).
func (Algorithm) COSE() int64 { return credential.AlgSM2 }

// JOSE is "SM2".
func (Algorithm) JOSE() string { return credential.JOSESM2 }

// Crv is "SM2".
func (Algorithm) Crv() string { return credential.CrvSM2 }

// Curve is the SM2 curve (sm2p256v1, OID 1.2.156.10197.1.301).
func (Algorithm) Curve() elliptic.Curve { return sm2.P256() }

// ParsePoint reads an uncompressed point on the SM2 curve.
func (Algorithm) ParsePoint(point []byte) (*ecdsa.PublicKey, error) {
	return sm2.NewPublicKey(point)
}

// MarshalPKIX returns the DER SubjectPublicKeyInfo: id-ecPublicKey with the
// SM2 curve OID as parameter.
func (Algorithm) MarshalPKIX(pub *ecdsa.PublicKey) ([]byte, error) {
	if !sm2.IsSM2PublicKey(pub) {
		return nil, errors.New("sm2: not an SM2 public key")
	}
	return smx509.MarshalPKIXPublicKey(pub)
}

// ParsePKIX reads a DER SubjectPublicKeyInfo of an SM2 key.
func (Algorithm) ParsePKIX(der []byte) (*ecdsa.PublicKey, error) {
	k, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	if !sm2.IsSM2PublicKey(k) {
		return nil, errors.New("sm2: not an SM2 public key")
	}
	return k.(*ecdsa.PublicKey), nil
}

// NewHash is SM3 fed with Z_A of pub for the default distinguishing ID
// (GB/T 32918.2 §5.5): the digest it returns is e of the signature scheme.
func (Algorithm) NewHash(pub *ecdsa.PublicKey) (hash.Hash, error) {
	za, err := zaOf(pub)
	if err != nil {
		return nil, err
	}
	h := sm3.New()
	h.Write(za[:])
	return h, nil
}

// distID is the default distinguishing ID of spec §1.1.
var distID = []byte("1234567812345678")

// zaCache keeps Z_A of the last keys seen: a verifier checks every
// credential of a key against the same Z_A, and computing it is a third of
// the hashing an SM2 verification does. Bounded, since keys come from
// outside; a trust list holds a handful.
var zaCache struct {
	sync.Mutex
	m map[[64]byte][32]byte
}

const zaCacheSize = 64

func zaOf(pub *ecdsa.PublicKey) ([32]byte, error) {
	var za [32]byte
	if !sm2.IsSM2PublicKey(pub) || pub.X == nil || pub.Y == nil || pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return za, errors.New("sm2: not an SM2 public key")
	}
	var point [64]byte
	pub.X.FillBytes(point[:32])
	pub.Y.FillBytes(point[32:])
	zaCache.Lock()
	za, ok := zaCache.m[point]
	zaCache.Unlock()
	if ok {
		return za, nil
	}
	z, err := sm2.CalculateZA(pub, distID)
	if err != nil || len(z) != len(za) {
		return za, fmt.Errorf("sm2: Z_A: %v", err)
	}
	copy(za[:], z)
	zaCache.Lock()
	if len(zaCache.m) >= zaCacheSize || zaCache.m == nil {
		zaCache.m = make(map[[64]byte][32]byte, zaCacheSize)
	}
	zaCache.m[point] = za
	zaCache.Unlock()
	return za, nil
}

// digestOpts asks an SM2 crypto.Signer to sign the digest as given, e
// having been computed with Z_A already.
var digestOpts = sm2.NewSM2SignerOption(false, nil)

// SignDigest signs e with signer and returns r||s, 32 bytes each.
func (Algorithm) SignDigest(signer crypto.Signer, digest []byte) ([]byte, error) {
	return signDigest(rand.Reader, signer, digest)
}

func signDigest(random io.Reader, signer crypto.Signer, digest []byte) ([]byte, error) {
	if !sm2.IsSM2PublicKey(signer.Public()) {
		return nil, errors.New("sm2: signer is not an SM2 key")
	}
	der, err := signer.Sign(random, digest, digestOpts)
	if err != nil {
		return nil, err
	}
	sig, err := RawSignature(der)
	if err != nil {
		return nil, fmt.Errorf("sm2: signer returned %w", err)
	}
	return sig, nil
}

// VerifyDigest checks an r||s signature over e.
func (Algorithm) VerifyDigest(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	if len(sig) != 64 || !sm2.IsSM2PublicKey(pub) {
		return false
	}
	var buf [72]byte
	return sm2.VerifyASN1(pub, digest, DERSignature(buf[:0], sig))
}

// DERSignature appends the ASN.1 DER form SEQUENCE {r, s} of a 64-byte r||s
// signature, the form OpenSSL and most libraries take.
func DERSignature(b, rs []byte) []byte {
	var body [70]byte
	ints := appendDERInt(appendDERInt(body[:0], rs[:32]), rs[32:])
	return append(append(b, 0x30, byte(len(ints))), ints...)
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

// RawSignature converts an ASN.1 DER SEQUENCE {r, s} to r||s, 32 bytes
// each.
func RawSignature(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("no ASN.1 SM2 signature")
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}
