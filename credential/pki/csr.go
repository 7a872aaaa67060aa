package pki

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/epermit/epermit/credential"
)

// CSR is a checked PKCS#10 request for a document-signer certificate: its
// self-signature verifies under its key (proof of possession), and it asks
// for a privateKeyUsagePeriod.
type CSR struct {
	Raw       []byte
	PublicKey *ecdsa.PublicKey
	KeyID     string // spec §1 kid, base64url
	Alg       string // JOSE name of the key's algorithm
	Subject   string // common name
	// UsageNotBefore and UsageNotAfter are the requested signing period.
	UsageNotBefore, UsageNotAfter time.Time
	// URIs are the subjectAltName URIs asked for: the authority's base URL.
	URIs []string
}

// NewCSR makes a request for signer's issuer key (a file or PKCS#11 key):
// subject CN=epermit issuer key <kid>, with an extensionRequest attribute
// (1.2.840.113549.1.9.14) holding the privateKeyUsagePeriod asked for
// (whole seconds, UTC) and, when uris are given, the subjectAltName URIs
// (the authority's base URL, which the iss of what the key signs names).
// It returns the DER.
func NewCSR(signer crypto.Signer, usageNotBefore, usageNotAfter time.Time, uris ...string) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("pki: no signer")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("pki: signer is not an EC issuer-suite key")
	}
	usageNotBefore, usageNotAfter = usageNotBefore.UTC().Truncate(time.Second), usageNotAfter.UTC().Truncate(time.Second)
	if !usageNotAfter.After(usageNotBefore) || usageNotBefore.Year() < 1 || usageNotAfter.Year() > 9999 {
		return nil, errors.New("pki: the usage period must end after it starts")
	}
	spki, err := credential.MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	kid, err := credential.KeyIDString(pub)
	if err != nil {
		return nil, err
	}
	alg, _ := credential.KeyAlgorithm(pub)
	oid, err := sigAlgOID(alg)
	if err != nil {
		return nil, err
	}
	if err := checkURIs(uris); err != nil {
		return nil, err
	}
	reqExts := [][]byte{newExtension(oidPrivateKeyUsagePeriod, false, privateKeyUsagePeriodValue(usageNotBefore, usageNotAfter))}
	if len(uris) > 0 {
		reqExts = append(reqExts, subjectAltNameExt(uris))
	}
	exts := seq(reqExts...)
	attr := seq(mustMarshal(oidExtensionRequest), tlv(tagSet, exts))
	info := seq(mustMarshal(0), name(DocumentSignerSubject(kid), false), spki, tlv(0xa0, attr))
	rs, _, err := credential.SignMessage(signer, info)
	if err != nil {
		return nil, err
	}
	der := derSignature(rs)
	algID := seq(mustMarshal(oid))
	return seq(info, algID, mustMarshal(asn1.BitString{Bytes: der, BitLength: 8 * len(der)})), nil
}

type rawCSR struct {
	Info      asn1.RawValue
	SigAlg    algorithmIdentifier
	Signature asn1.BitString
}

type csrInfo struct {
	Version    int
	Subject    asn1.RawValue
	SPKI       asn1.RawValue
	Attributes []csrAttribute `asn1:"tag:0,set"`
}

type csrAttribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// ParseCSR parses a DER PKCS#10 request and checks its self-signature and
// its requested privateKeyUsagePeriod (both bounds required). Attributes
// other than extensionRequest, and unknown critical extensions, are
// refused.
func ParseCSR(der []byte) (*CSR, error) {
	if len(der) > MaxCertificate {
		return nil, fmt.Errorf("pki: request over %d bytes", MaxCertificate)
	}
	var raw rawCSR
	if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) != 0 {
		return nil, errors.New("pki: not one DER certification request")
	}
	var info csrInfo
	if rest, err := asn1.Unmarshal(raw.Info.FullBytes, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("pki: malformed certificationRequestInfo")
	}
	if info.Version != 0 {
		return nil, errors.New("pki: request version is not 0")
	}
	c := &CSR{Raw: der}
	var err error
	if c.Subject, err = commonName(info.Subject.FullBytes); err != nil {
		return nil, fmt.Errorf("pki: request subject: %v", err)
	}
	if c.PublicKey, err = credential.ParsePublicKey(info.SPKI.FullBytes); err != nil {
		return nil, fmt.Errorf("pki: request key: %w", err)
	}
	c.Alg, _ = credential.KeyAlgorithm(c.PublicKey)
	if c.KeyID, err = credential.KeyIDString(c.PublicKey); err != nil {
		return nil, err
	}
	sigAlg, err := sigAlgName(raw.SigAlg)
	if err != nil {
		return nil, fmt.Errorf("pki: request: %v", err)
	}
	if sigAlg != c.Alg {
		return nil, fmt.Errorf("pki: request signed with %s, its key is %s", sigAlg, c.Alg)
	}
	if raw.Signature.BitLength%8 != 0 {
		return nil, errors.New("pki: request signature has unused bits")
	}
	rs, err := rawSignature(raw.Signature.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: request: %v", err)
	}
	if !credential.VerifyMessage(c.PublicKey, raw.Info.FullBytes, rs) {
		return nil, errors.New("pki: the request's signature does not verify under its key")
	}
	extReq := false
	for _, a := range info.Attributes {
		if !a.Type.Equal(oidExtensionRequest) || len(a.Values) != 1 || extReq {
			return nil, fmt.Errorf("pki: request attribute %v is not allowed", a.Type)
		}
		extReq = true
		var exts []extension
		if rest, err := asn1.Unmarshal(a.Values[0].FullBytes, &exts); err != nil || len(rest) != 0 {
			return nil, errors.New("pki: malformed extensionRequest")
		}
		for _, e := range exts {
			switch {
			case e.ID.Equal(oidPrivateKeyUsagePeriod):
				if c.UsageNotBefore, c.UsageNotAfter, err = parseUsagePeriod(e.Value); err != nil {
					return nil, fmt.Errorf("pki: request: %v", err)
				}
			case e.ID.Equal(oidSubjectAltName):
				if c.URIs, err = parseSubjectAltName(e.Value); err != nil {
					return nil, fmt.Errorf("pki: request: %v", err)
				}
			case e.Critical:
				return nil, fmt.Errorf("pki: request has unknown critical extension %v", e.ID)
			}
		}
	}
	if c.UsageNotBefore.IsZero() || c.UsageNotAfter.IsZero() {
		return nil, errors.New("pki: the request asks for no privateKeyUsagePeriod with both bounds")
	}
	return c, nil
}
