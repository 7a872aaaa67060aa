package pki

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers of the profile.
var (
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSM2WithSM3      = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}

	oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidCountry    = asn1.ObjectIdentifier{2, 5, 4, 6}

	oidSubjectKeyID          = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidKeyUsage              = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidPrivateKeyUsagePeriod = asn1.ObjectIdentifier{2, 5, 29, 16}
	oidBasicConstraints      = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidAuthorityKeyID        = asn1.ObjectIdentifier{2, 5, 29, 35}

	oidExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
)

// keyUsage bits (RFC 5280 §4.2.1.3).
const (
	kuDigitalSignature = 1 << 0
	kuKeyCertSign      = 1 << 5
	kuCRLSign          = 1 << 6
)

// DER tags used directly.
const (
	tagSequence = 0x30
	tagSet      = 0x31
)

// tlv returns the DER encoding of a tag with the concatenated contents.
func tlv(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	b := make([]byte, 0, n+6)
	b = append(b, tag)
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	for _, c := range contents {
		b = append(b, c...)
	}
	return b
}

func seq(contents ...[]byte) []byte { return tlv(tagSequence, contents...) }

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always marshal
	}
	return b
}

// derTime encodes a certificate validity time: UTCTime through 2049,
// GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), whole seconds in UTC.
func derTime(t time.Time) ([]byte, error) {
	t = t.UTC().Truncate(time.Second)
	if t.Year() < 1950 || t.Year() > 9999 {
		return nil, fmt.Errorf("pki: time %s out of range", t)
	}
	if t.Year() >= 2050 {
		return asn1.MarshalWithParams(t, "generalized")
	}
	return asn1.MarshalWithParams(t, "utc")
}

// generalizedTime is the contents of a DER GeneralizedTime.
const generalizedTime = "20060102150405Z"

func parseGeneralizedTime(b []byte) (time.Time, error) {
	if len(b) != len(generalizedTime) {
		return time.Time{}, errors.New("not a DER GeneralizedTime")
	}
	t, err := time.Parse(generalizedTime, string(b))
	if err != nil {
		return time.Time{}, errors.New("not a DER GeneralizedTime")
	}
	return t.UTC(), nil
}

// algorithmIdentifier is an AlgorithmIdentifier whose parameters must be
// absent for both signature algorithms of the profile.
type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// sigAlgOID returns the signature algorithm OID of a suite by JOSE name.
func sigAlgOID(alg string) (asn1.ObjectIdentifier, error) {
	switch alg {
	case "ES256":
		return oidECDSAWithSHA256, nil
	case "SM2":
		return oidSM2WithSM3, nil
	}
	return nil, fmt.Errorf("pki: no certificate signature algorithm for %q", alg)
}

// sigAlgName is the JOSE name of a signature algorithm identifier.
func sigAlgName(a algorithmIdentifier) (string, error) {
	if len(a.Parameters.FullBytes) != 0 {
		return "", errors.New("signature algorithm has parameters")
	}
	switch {
	case a.Algorithm.Equal(oidECDSAWithSHA256):
		return "ES256", nil
	case a.Algorithm.Equal(oidSM2WithSM3):
		return "SM2", nil
	}
	return "", fmt.Errorf("signature algorithm %v is not ecdsa-with-SHA256 or SM2-with-SM3", a.Algorithm)
}

// ecdsaSig is ECDSA-Sig-Value, the DER form of both suites' signatures.
type ecdsaSig struct{ R, S *big.Int }

// derSignature converts r||s to DER ECDSA-Sig-Value.
func derSignature(rs []byte) []byte {
	return mustMarshal(ecdsaSig{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
}

// rawSignature converts DER ECDSA-Sig-Value to r||s.
func rawSignature(der []byte) ([]byte, error) {
	var s ecdsaSig
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil || len(rest) != 0 || s.R.Sign() <= 0 || s.S.Sign() <= 0 || s.R.BitLen() > 256 || s.S.BitLen() > 256 {
		return nil, errors.New("signature is not an ECDSA-Sig-Value of 256-bit integers")
	}
	rs := make([]byte, 64)
	s.R.FillBytes(rs[:32])
	s.S.FillBytes(rs[32:])
	return rs, nil
}

// extension is an X.509 Extension; Critical DEFAULT FALSE is omitted when
// false, as DER wants.
type extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

func newExtension(id asn1.ObjectIdentifier, critical bool, value []byte) []byte {
	return mustMarshal(extension{ID: id, Critical: critical, Value: value})
}

type basicConstraints struct {
	IsCA    bool `asn1:"optional"`
	PathLen int  `asn1:"optional,default:-1"`
}

func basicConstraintsExt(ca bool) []byte {
	bc := basicConstraints{IsCA: ca, PathLen: -1}
	if ca {
		bc.PathLen = 0 // the chain is always root → DS or cross → list
	}
	return newExtension(oidBasicConstraints, true, mustMarshal(bc))
}

// keyUsageExt encodes the keyUsage bits as a DER named-bit BIT STRING:
// trailing zero bits are dropped.
func keyUsageExt(bits int) []byte {
	var b byte
	n := 0
	for i := range 8 {
		if bits&(1<<i) != 0 {
			b |= 0x80 >> i
			n = i + 1
		}
	}
	return newExtension(oidKeyUsage, true, mustMarshal(asn1.BitString{Bytes: []byte{b}, BitLength: n}))
}

func keyUsageBits(bs asn1.BitString) int {
	bits := 0
	for i := range min(bs.BitLength, 9) {
		if bs.At(i) == 1 {
			bits |= 1 << i
		}
	}
	return bits
}

func subjectKeyIDExt(kid []byte) []byte {
	return newExtension(oidSubjectKeyID, false, mustMarshal(kid))
}

type authorityKeyID struct {
	ID []byte `asn1:"optional,tag:0"`
}

func authorityKeyIDExt(kid []byte) []byte {
	return newExtension(oidAuthorityKeyID, false, mustMarshal(authorityKeyID{ID: kid}))
}

// privateKeyUsagePeriodValue is PrivateKeyUsagePeriod (RFC 3280 §4.2.1.4):
// SEQUENCE { notBefore [0] IMPLICIT GeneralizedTime, notAfter [1] IMPLICIT
// GeneralizedTime }, both given here.
func privateKeyUsagePeriodValue(nb, na time.Time) []byte {
	return seq(
		tlv(0x80, []byte(nb.UTC().Format(generalizedTime))),
		tlv(0x81, []byte(na.UTC().Format(generalizedTime))))
}

type usagePeriod struct {
	NotBefore asn1.RawValue `asn1:"optional,tag:0"`
	NotAfter  asn1.RawValue `asn1:"optional,tag:1"`
}

func parseUsagePeriod(b []byte) (nb, na time.Time, err error) {
	var p usagePeriod
	rest, err := asn1.Unmarshal(b, &p)
	if err != nil || len(rest) != 0 {
		return nb, na, errors.New("privateKeyUsagePeriod is malformed")
	}
	if p.NotBefore.FullBytes == nil && p.NotAfter.FullBytes == nil {
		return nb, na, errors.New("privateKeyUsagePeriod is empty")
	}
	if p.NotBefore.FullBytes != nil {
		if p.NotBefore.IsCompound {
			return nb, na, errors.New("privateKeyUsagePeriod notBefore is not a GeneralizedTime")
		}
		if nb, err = parseGeneralizedTime(p.NotBefore.Bytes); err != nil {
			return nb, na, fmt.Errorf("privateKeyUsagePeriod notBefore: %w", err)
		}
	}
	if p.NotAfter.FullBytes != nil {
		if p.NotAfter.IsCompound {
			return nb, na, errors.New("privateKeyUsagePeriod notAfter is not a GeneralizedTime")
		}
		if na, err = parseGeneralizedTime(p.NotAfter.Bytes); err != nil {
			return nb, na, fmt.Errorf("privateKeyUsagePeriod notAfter: %w", err)
		}
	}
	if !nb.IsZero() && !na.IsZero() && na.Before(nb) {
		return nb, na, errors.New("privateKeyUsagePeriod ends before it starts")
	}
	return nb, na, nil
}
