// Package keys keeps the authority's issuer signing keys and hands them out
// only as crypto.Signer, so that the issuer never sees private key bytes and
// a file key can be swapped for an HSM key without touching the issuer.
//
// A key is named by a reference URI, recorded beside its public key in the
// store: "file:keys/KID.pem" is a PKCS#8 PEM file, relative to the data
// directory unless absolute, written with mode 0600 in a 0700 directory;
// "pkcs11:token=…;id=…?module-path=…" (RFC 7512) is a key pair inside a
// hardware security module. Store dispatches on the scheme. The PKCS#11
// backend needs cgo and lives in package keys/pkcs11, which registers
// itself when a binary built with the "pkcs11" tag imports it.
//
// An issuer key is of one of two algorithms (spec/formats.md §1 and §1.1):
// ES256 (ECDSA P-256), the default, or SM2 with SM3. The active key's
// algorithm is the one e-permits, status lists and linkage proofs are
// signed with. PKCS#11 keys are ES256 only.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/epermit/epermit/credential"
	_ "github.com/epermit/epermit/credential/sm2" // issuer keys may be SM2
)

// Algorithm is an issuer key's signature algorithm, named as the
// --algorithm flag takes it.
type Algorithm string

// The issuer algorithms.
const (
	ES256 Algorithm = "es256" // ECDSA P-256 with SHA-256, the default
	SM2   Algorithm = "sm2"   // SM2 with SM3 and the default distinguishing ID (spec §1.1)
)

// ParseAlgorithm reads an algorithm name; "" is ES256.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(strings.ToLower(s)); a {
	case "":
		return ES256, nil
	case ES256, SM2:
		return a, nil
	}
	return "", fmt.Errorf("keys: algorithm %q is not es256 or sm2", s)
}

// AlgorithmOf returns the algorithm of an issuer public key.
func AlgorithmOf(pub *ecdsa.PublicKey) (Algorithm, error) {
	switch {
	case pub != nil && pub.Curve == elliptic.P256():
		return ES256, nil
	case sm2.IsSM2PublicKey(pub):
		return SM2, nil
	}
	return "", errors.New("keys: not a P-256 or SM2 key")
}

// Files is a key store of PEM files under a data directory.
type Files struct {
	Dir string // the data directory; keys go in Dir/keys
}

// Generate creates a new key of algorithm alg ("" is ES256), writes it as
// PKCS#8 PEM to Dir/keys/KID.pem with mode 0600 and returns its reference
// and public key. An SM2 key's PKCS#8 names id-ecPublicKey with the SM2
// curve OID.
func (f Files) Generate(alg Algorithm) (ref string, pub *ecdsa.PublicKey, err error) {
	var der []byte
	switch alg {
	case ES256, "":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", nil, err
		}
		if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
			return "", nil, err
		}
		pub = &priv.PublicKey
	case SM2:
		priv, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return "", nil, err
		}
		if der, err = smx509.MarshalPKCS8PrivateKey(priv); err != nil {
			return "", nil, err
		}
		pub = &priv.PublicKey
	default:
		return "", nil, fmt.Errorf("keys: algorithm %q is not es256 or sm2", alg)
	}
	kid, err := credential.KeyIDString(pub)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(f.Dir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("keys: %w", err)
	}
	rel := filepath.Join("keys", kid+".pem")
	// O_EXCL: never overwrite a key, even one with the same id.
	file, err := os.OpenFile(filepath.Join(f.Dir, rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("keys: %w", err)
	}
	if err := pem.Encode(file, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		file.Close()
		return "", nil, fmt.Errorf("keys: %w", err)
	}
	if err := errors.Join(file.Sync(), file.Close()); err != nil {
		return "", nil, fmt.Errorf("keys: %w", err)
	}
	return "file:" + filepath.ToSlash(rel), pub, nil
}

// Remove deletes the key file behind ref; used to undo a Generate whose key
// could not be recorded.
func (f Files) Remove(ref string) error {
	path, err := f.path(ref)
	if err != nil {
		return err
	}
	return os.Remove(path)
}

// Signer opens the key behind ref.
func (f Files) Signer(ref string) (crypto.Signer, error) {
	path, err := f.path(ref)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return parseIssuerKey(data)
}

// parseIssuerKey reads a PKCS#8 PEM issuer key: P-256 or SM2.
func parseIssuerKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("keys: not a PEM \"PRIVATE KEY\" (PKCS#8) block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if priv, ok := k.(*ecdsa.PrivateKey); ok && priv.Curve == elliptic.P256() {
			return priv, nil
		}
		return nil, errors.New("keys: not a P-256 or SM2 key")
	}
	k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if priv, ok := k.(*sm2.PrivateKey); ok {
		return priv, nil
	}
	return nil, errors.New("keys: not a P-256 or SM2 key")
}

func (f Files) path(ref string) (string, error) {
	rest, ok := strings.CutPrefix(ref, "file:")
	if !ok {
		scheme, _, _ := strings.Cut(ref, ":")
		return "", fmt.Errorf("keys: key store %q is not supported by this build (want file:)", scheme)
	}
	if filepath.IsAbs(rest) {
		return rest, nil
	}
	return filepath.Join(f.Dir, filepath.FromSlash(rest)), nil
}

// ParsePrivateKey reads a PKCS#8 PEM P-256 private key.
func ParsePrivateKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("keys: not a PEM \"PRIVATE KEY\" (PKCS#8) block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, errors.New("keys: not a P-256 ECDSA key")
	}
	return priv, nil
}

// ParsePublicKey reads a PEM SubjectPublicKeyInfo ("PUBLIC KEY") P-256 key.
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("keys: not a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("keys: not a P-256 ECDSA key")
	}
	return pub, nil
}
