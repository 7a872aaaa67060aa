package credential

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"
)

// Issuer signature algorithms of spec §1. ES256 is built in; SM2 with SM3
// (spec §1.1) is defined here by its identifiers only, and works once a
// package implementing it registers with RegisterAlgorithm (package
// credential/sm2 does, when imported), so that an ES256-only verifier links
// no SM2 code.
const (
	// AlgSM2 is the COSE algorithm of spec §1.1 (private use): SM2 with SM3
	// and the default distinguishing ID 1234567812345678, signature r||s.
	AlgSM2 = -70100
	// JOSEES256 and JOSESM2 are the JOSE alg names of the two suites.
	JOSEES256 = "ES256"
	JOSESM2   = "SM2"
	// CrvP256 and CrvSM2 are the JWK crv names of the two suites' keys.
	CrvP256 = "P-256"
	CrvSM2  = "SM2"
)

// Algorithm is an issuer signature algorithm besides ES256, for issuer keys
// that are ECDSA-shaped (*ecdsa.PublicKey on the algorithm's own curve) and
// signatures that are r||s. Holder keys stay P-256 with ES256 whatever the
// issuer uses (spec §1.1).
type Algorithm interface {
	// COSE is the COSE alg value, JOSE the JOSE alg name and Crv the JWK crv
	// name of the algorithm's keys.
	COSE() int64
	JOSE() string
	Crv() string
	// Curve is the curve of the algorithm's keys: a public key belongs to
	// the algorithm when its Curve is this value.
	Curve() elliptic.Curve
	// ParsePoint returns the key of an uncompressed point 0x04||x||y,
	// failing when it is not on the curve.
	ParsePoint(point []byte) (*ecdsa.PublicKey, error)
	// MarshalPKIX returns the DER SubjectPublicKeyInfo that key ids are
	// derived from (spec §1), and ParsePKIX reads it back.
	MarshalPKIX(pub *ecdsa.PublicKey) ([]byte, error)
	ParsePKIX(der []byte) (*ecdsa.PublicKey, error)
	// NewHash returns the hash the algorithm signs messages with, ready for
	// the message: for SM2, SM3 already fed with Z_A of pub.
	NewHash(pub *ecdsa.PublicKey) (hash.Hash, error)
	// SignDigest signs a digest from NewHash with signer and returns r||s.
	SignDigest(signer crypto.Signer, digest []byte) ([]byte, error)
	// VerifyDigest checks an r||s signature over a digest from NewHash.
	VerifyDigest(pub *ecdsa.PublicKey, digest, sig []byte) bool
}

// registered holds the algorithms added by RegisterAlgorithm; the slice is
// replaced, never changed, so readers need no lock.
var (
	registered   atomic.Pointer[[]Algorithm]
	registerLock sync.Mutex
)

// RegisterAlgorithm makes a an issuer algorithm that keys, trust lists,
// signing and verification accept. It is meant for package init functions
// and panics when a's identifiers clash with ES256 or an algorithm already
// registered.
func RegisterAlgorithm(a Algorithm) {
	registerLock.Lock()
	defer registerLock.Unlock()
	if a.COSE() == AlgES256 || a.JOSE() == JOSEES256 || a.Crv() == CrvP256 || a.Curve() == elliptic.P256() {
		panic("credential: RegisterAlgorithm: ES256 is built in")
	}
	var list []Algorithm
	if p := registered.Load(); p != nil {
		list = append(list, *p...)
	}
	for _, b := range list {
		if b.COSE() == a.COSE() || b.JOSE() == a.JOSE() || b.Crv() == a.Crv() || b.Curve() == a.Curve() {
			panic(fmt.Sprintf("credential: RegisterAlgorithm: %s registered twice", a.JOSE()))
		}
	}
	list = append(list, a)
	registered.Store(&list)
}

// Algorithms returns the JOSE names of the issuer algorithms this program
// accepts: ES256 and every registered one.
func Algorithms() []string {
	names := []string{JOSEES256}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			names = append(names, a.JOSE())
		}
	}
	return names
}

// suite is one issuer algorithm as the formats use it: ES256 (ext nil, with
// the allocation-free paths of cose.go) or a registered Algorithm.
type suite struct {
	cose int64
	jose string
	ext  Algorithm
}

var es256 = suite{cose: AlgES256, jose: JOSEES256}

func (s suite) isES256() bool { return s.ext == nil }

// ErrUnsupportedKey: a key of an algorithm this program has not registered
// (an SM2 key in a build without package credential/sm2).
var ErrUnsupportedKey = errors.New("credential: key of an algorithm this program does not support")

// suiteOfKey returns the suite pub's curve belongs to.
func suiteOfKey(pub *ecdsa.PublicKey) (suite, error) {
	if pub == nil {
		return suite{}, errors.New("credential: no key")
	}
	if pub.Curve == elliptic.P256() {
		return es256, nil
	}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			if a.Curve() == pub.Curve {
				return suite{cose: a.COSE(), jose: a.JOSE(), ext: a}, nil
			}
		}
	}
	return suite{}, ErrUnsupportedKey
}

// suiteOfCrv returns the suite whose JWK crv is crv.
func suiteOfCrv(crv string) (suite, error) {
	if crv == CrvP256 {
		return es256, nil
	}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			if a.Crv() == crv {
				return suite{cose: a.COSE(), jose: a.JOSE(), ext: a}, nil
			}
		}
	}
	if crv == CrvSM2 { // a suite of spec §1 that this program was built without
		return suite{}, ErrUnsupportedKey
	}
	return suite{}, errors.New("credential: not an issuer key curve")
}

// signerSuite returns the signer's public key and suite: an issuer key is
// P-256 (ES256) or a key of a registered algorithm.
func signerSuite(signer crypto.Signer) (*ecdsa.PublicKey, suite, error) {
	if signer == nil {
		return nil, suite{}, errors.New("credential: no signer")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, suite{}, errors.New("credential: signer is not an EC key of an issuer algorithm")
	}
	s, err := suiteOfKey(pub)
	if err != nil {
		return nil, suite{}, fmt.Errorf("credential: signer: %w", err)
	}
	return pub, s, nil
}

// newHash returns the message hash of the suite for pub.
func (s suite) newHash(pub *ecdsa.PublicKey) (hash.Hash, error) {
	if s.isES256() {
		return sha256.New(), nil
	}
	return s.ext.NewHash(pub)
}

// sign signs a digest from newHash and returns r||s.
func (s suite) sign(signer crypto.Signer, digest []byte) ([]byte, error) {
	if s.isES256() {
		return signES256(signer, digest)
	}
	sig, err := s.ext.SignDigest(signer, digest)
	if err != nil {
		return nil, fmt.Errorf("credential: signing: %w", err)
	}
	return sig, nil
}

// verify checks r||s over a digest from newHash.
func (s suite) verify(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	if s.isES256() {
		return len(digest) == sha256.Size && verifyES256(pub, (*[32]byte)(digest), sig)
	}
	return s.ext.VerifyDigest(pub, digest, sig)
}

// signMessage hashes the parts of a message in order and signs the digest.
func (s suite) signMessage(signer crypto.Signer, pub *ecdsa.PublicKey, parts ...[]byte) ([]byte, error) {
	h, err := s.newHash(pub)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		h.Write(p)
	}
	var buf [64]byte
	return s.sign(signer, h.Sum(buf[:0]))
}

// verifyMessage hashes the parts of a message in order and checks r||s.
func (s suite) verifyMessage(pub *ecdsa.PublicKey, sig []byte, parts ...[]byte) bool {
	h, err := s.newHash(pub)
	if err != nil {
		return false
	}
	for _, p := range parts {
		h.Write(p)
	}
	var buf [64]byte
	return s.verify(pub, h.Sum(buf[:0]), sig)
}

// MarshalPublicKey returns the DER SubjectPublicKeyInfo of an issuer key of
// any accepted algorithm (for SM2: id-ecPublicKey with the SM2 curve OID
// 1.2.156.10197.1.301).
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	s, err := suiteOfKey(pub)
	if err != nil {
		return nil, err
	}
	if s.isES256() {
		return x509.MarshalPKIXPublicKey(pub)
	}
	return s.ext.MarshalPKIX(pub)
}

// ParsePublicKey reads the DER SubjectPublicKeyInfo of an issuer key of any
// accepted algorithm.
func ParsePublicKey(der []byte) (*ecdsa.PublicKey, error) {
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		if pub, ok := k.(*ecdsa.PublicKey); ok && pub.Curve == elliptic.P256() {
			return pub, nil
		}
		return nil, errors.New("credential: not an issuer key (want P-256 or a registered algorithm)")
	}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			if pub, err := a.ParsePKIX(der); err == nil {
				return pub, nil
			}
		}
	}
	return nil, errors.New("credential: not the SubjectPublicKeyInfo of an issuer key of a supported algorithm")
}

// KeyAlgorithm returns the JOSE alg name of an issuer key: "ES256" for P-256,
// "SM2" for an SM2 key when SM2 is registered.
func KeyAlgorithm(pub *ecdsa.PublicKey) (string, error) {
	s, err := suiteOfKey(pub)
	if err != nil {
		return "", err
	}
	return s.jose, nil
}

// supportedCOSE reports whether alg is ES256 or a registered algorithm.
func supportedCOSE(alg int64) bool {
	if alg == AlgES256 {
		return true
	}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			if a.COSE() == alg {
				return true
			}
		}
	}
	return false
}

// suiteOfJOSE returns the registered suite or ES256 named alg.
func suiteOfJOSE(alg string) (suite, bool) {
	if alg == JOSEES256 {
		return es256, true
	}
	if p := registered.Load(); p != nil {
		for _, a := range *p {
			if a.JOSE() == alg {
				return suite{cose: a.COSE(), jose: a.JOSE(), ext: a}, true
			}
		}
	}
	return suite{}, false
}

// SignMessage signs msg with an issuer key by the key's algorithm (ES256:
// SHA-256; SM2: SM3 over Z_A for the default distinguishing ID, then msg)
// and returns the signature as r||s, 32 bytes each, with the algorithm's
// JOSE name. It is the primitive other signed formats (X.509 certificates
// in package credential/pki) build on, so that every suite goes through
// one path; signer may be a file key or a PKCS#11 key.
func SignMessage(signer crypto.Signer, msg []byte) (sig []byte, alg string, err error) {
	pub, s, err := signerSuite(signer)
	if err != nil {
		return nil, "", err
	}
	sig, err = s.signMessage(signer, pub, msg)
	if err != nil {
		return nil, "", err
	}
	return sig, s.jose, nil
}

// VerifyMessage checks an r||s signature over msg made by SignMessage with
// pub's key; false for a key of an algorithm this program does not support.
func VerifyMessage(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	s, err := suiteOfKey(pub)
	if err != nil {
		return false
	}
	return s.verifyMessage(pub, sig, msg)
}

// UnmarshalStrict decodes the JSON object b into v the way the formats'
// parsers do: a duplicate member anywhere, a member name spelled otherwise
// than v's field tags (JOSE names are case-sensitive) or a member v has no
// field for is refused; numbers decode into json.Number fields exactly.
func UnmarshalStrict(b []byte, v any) error {
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	if err := noDuplicateKeys(json.NewDecoder(bytes.NewReader(b)), 0); err != nil {
		return err
	}
	if err := exactNames(b, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
