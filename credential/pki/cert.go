package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/epermit/epermit/credential"
)

// Certificate is a parsed certificate of the profile: a root, a cross
// certificate or a document-signer certificate.
type Certificate struct {
	Raw                     []byte // the whole DER certificate
	RawTBS                  []byte // the signed part, tbsCertificate
	RawSubject, RawIssuer   []byte // DER Names, compared byte for byte
	RawSubjectPublicKeyInfo []byte

	Subject, Issuer string // the common names
	Serial          *big.Int

	NotBefore, NotAfter time.Time
	// UsageNotBefore and UsageNotAfter are the privateKeyUsagePeriod
	// (OID 2.5.29.16): when the key may sign. Zero when absent.
	UsageNotBefore, UsageNotAfter time.Time

	IsCA      bool
	PublicKey *ecdsa.PublicKey
	KeyID     string // spec §1 kid of PublicKey, base64url
	Alg       string // JOSE name of PublicKey's algorithm: ES256 or SM2
	// SignatureAlg is the JOSE name of the algorithm the issuer signed
	// with, which is the issuer key's.
	SignatureAlg string

	SubjectKeyID, AuthorityKeyID []byte
	// URIs are the subjectAltName URIs: in a DS certificate, the
	// authority's base URL, which the iss of what the key signs names.
	URIs []string

	signature []byte // r||s
}

// Errors of certificate checks; ParseCertificate's errors wrap ErrProfile,
// or credential.ErrUnsupportedKey for a key of a suite this program was
// built without.
var (
	ErrProfile   = errors.New("pki: not a certificate of the epermit profile")
	ErrSignature = errors.New("pki: certificate not signed by the issuer")
)

func profileErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProfile, fmt.Sprintf(format, args...))
}

// MaxCertificate bounds a DER certificate or request; the profile's are
// under 1 KiB.
const MaxCertificate = 8 << 10

type rawCertificate struct {
	TBS       asn1.RawValue
	SigAlg    algorithmIdentifier
	Signature asn1.BitString
}

type validity struct {
	NotBefore, NotAfter time.Time
}

type tbsCertificate struct {
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     *big.Int
	SigAlg     algorithmIdentifier
	Issuer     asn1.RawValue
	Validity   validity
	Subject    asn1.RawValue
	SPKI       asn1.RawValue
	IssuerUID  asn1.BitString `asn1:"optional,tag:1"`
	SubjectUID asn1.BitString `asn1:"optional,tag:2"`
	Extensions []extension    `asn1:"optional,explicit,tag:3"`
}

// ParseCertificate parses one DER certificate of the profile and checks its
// form, not its signature (see CheckSignatureFrom).
func ParseCertificate(der []byte) (*Certificate, error) {
	if len(der) > MaxCertificate {
		return nil, profileErr("over %d bytes", MaxCertificate)
	}
	var raw rawCertificate
	if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) != 0 {
		return nil, profileErr("not one DER certificate")
	}
	var tbs tbsCertificate
	if rest, err := asn1.Unmarshal(raw.TBS.FullBytes, &tbs); err != nil || len(rest) != 0 {
		return nil, profileErr("malformed tbsCertificate")
	}
	c := &Certificate{Raw: der, RawTBS: raw.TBS.FullBytes, RawSubject: tbs.Subject.FullBytes,
		RawIssuer: tbs.Issuer.FullBytes, RawSubjectPublicKeyInfo: tbs.SPKI.FullBytes, Serial: tbs.Serial,
		NotBefore: tbs.Validity.NotBefore.UTC(), NotAfter: tbs.Validity.NotAfter.UTC()}
	switch {
	case tbs.Version != 2:
		return nil, profileErr("not a v3 certificate")
	case tbs.Serial == nil || tbs.Serial.Sign() <= 0 || len(tbs.Serial.Bytes()) > 20:
		return nil, profileErr("serial number is not a positive integer of at most 20 octets")
	case tbs.IssuerUID.BitLength != 0 || tbs.SubjectUID.BitLength != 0 || len(tbs.IssuerUID.Bytes) != 0 || len(tbs.SubjectUID.Bytes) != 0:
		return nil, profileErr("unique identifiers are not allowed")
	case c.NotAfter.Before(c.NotBefore):
		return nil, profileErr("validity ends before it starts")
	}
	var err error
	if c.SignatureAlg, err = sigAlgName(raw.SigAlg); err != nil {
		return nil, profileErr("%v", err)
	}
	if inner, err := sigAlgName(tbs.SigAlg); err != nil || inner != c.SignatureAlg {
		return nil, profileErr("the signature algorithms inside and outside tbsCertificate differ")
	}
	if raw.Signature.BitLength%8 != 0 {
		return nil, profileErr("signature BIT STRING has unused bits")
	}
	if c.signature, err = rawSignature(raw.Signature.Bytes); err != nil {
		return nil, profileErr("%v", err)
	}
	if c.Subject, err = commonName(c.RawSubject); err != nil {
		return nil, profileErr("subject: %v", err)
	}
	if c.Issuer, err = commonName(c.RawIssuer); err != nil {
		return nil, profileErr("issuer: %v", err)
	}
	if err := c.setKey(); err != nil {
		return nil, err
	}
	if err := c.readExtensions(tbs.Extensions); err != nil {
		return nil, err
	}
	return c, nil
}

// setKey reads the subject public key and derives its kid and algorithm.
func (c *Certificate) setKey() error {
	pub, err := credential.ParsePublicKey(c.RawSubjectPublicKeyInfo)
	if err != nil {
		// A key on a curve of a suite not registered here (SM2 without
		// credential/sm2) is told apart, so a list can leave it out.
		if isUnregisteredSM2(c.RawSubjectPublicKeyInfo) {
			return fmt.Errorf("pki: certificate %q: %w", c.Subject, credential.ErrUnsupportedKey)
		}
		return profileErr("subject public key: %v", err)
	}
	c.PublicKey = pub
	if c.Alg, err = credential.KeyAlgorithm(pub); err != nil {
		return profileErr("subject public key: %v", err)
	}
	kid, err := credential.KeyID(pub)
	if err != nil {
		return profileErr("subject public key: %v", err)
	}
	c.KeyID = base64.RawURLEncoding.EncodeToString(kid)
	return nil
}

// oidSM2Curve is the SM2 curve, sm2p256v1.
var oidSM2Curve = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}

// isUnregisteredSM2 reports whether spki is an id-ecPublicKey on the SM2
// curve, in a program where SM2 is not registered.
func isUnregisteredSM2(spki []byte) bool {
	var k struct {
		Alg struct {
			Algorithm asn1.ObjectIdentifier
			Curve     asn1.ObjectIdentifier
		}
		Key asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &k); err != nil || len(rest) != 0 {
		return false
	}
	for _, a := range credential.Algorithms() {
		if a == credential.JOSESM2 {
			return false
		}
	}
	return k.Alg.Curve.Equal(oidSM2Curve)
}

func (c *Certificate) readExtensions(exts []extension) error {
	seen := map[string]bool{}
	var haveBC, haveKU bool
	var ku int
	for _, e := range exts {
		id := e.ID.String()
		if seen[id] {
			return profileErr("extension %s appears twice", id)
		}
		seen[id] = true
		var rest []byte
		var err error
		switch {
		case e.ID.Equal(oidBasicConstraints):
			var bc basicConstraints
			bc.PathLen = -1
			rest, err = asn1.UnmarshalWithParams(e.Value, &bc, "")
			if !e.Critical {
				return profileErr("basicConstraints is not critical")
			}
			haveBC, c.IsCA = true, bc.IsCA
			if !bc.IsCA && bc.PathLen != -1 {
				return profileErr("pathLenConstraint without cA")
			}
		case e.ID.Equal(oidKeyUsage):
			var bs asn1.BitString
			rest, err = asn1.Unmarshal(e.Value, &bs)
			if !e.Critical {
				return profileErr("keyUsage is not critical")
			}
			haveKU, ku = true, keyUsageBits(bs)
		case e.ID.Equal(oidSubjectKeyID):
			rest, err = asn1.Unmarshal(e.Value, &c.SubjectKeyID)
		case e.ID.Equal(oidAuthorityKeyID):
			var aki authorityKeyID
			rest, err = asn1.Unmarshal(e.Value, &aki)
			if err == nil && aki.ID == nil {
				return profileErr("authorityKeyIdentifier has no keyIdentifier")
			}
			c.AuthorityKeyID = aki.ID
		case e.ID.Equal(oidPrivateKeyUsagePeriod):
			if c.UsageNotBefore, c.UsageNotAfter, err = parseUsagePeriod(e.Value); err != nil {
				return profileErr("%v", err)
			}
		case e.ID.Equal(oidSubjectAltName):
			if c.URIs, err = parseSubjectAltName(e.Value); err != nil {
				return profileErr("%v", err)
			}
		case e.Critical:
			return profileErr("unknown critical extension %s", id)
		}
		if err != nil || len(rest) != 0 {
			return profileErr("extension %s is malformed", id)
		}
	}
	kid, _ := base64.RawURLEncoding.DecodeString(c.KeyID)
	switch {
	case !haveBC || !haveKU:
		return profileErr("basicConstraints and keyUsage are required")
	case !bytes.Equal(c.SubjectKeyID, kid):
		return profileErr("subjectKeyIdentifier is not the key's spec §1 kid")
	case c.IsCA && ku&kuKeyCertSign == 0:
		return profileErr("a CA certificate without keyCertSign")
	case !c.IsCA && (ku&kuDigitalSignature == 0 || ku&(kuKeyCertSign|kuCRLSign) != 0):
		return profileErr("a document-signer certificate must have digitalSignature and not keyCertSign or cRLSign")
	case c.AuthorityKeyID == nil && !bytes.Equal(c.RawIssuer, c.RawSubject):
		return profileErr("authorityKeyIdentifier is required unless self-issued")
	}
	return nil
}

// commonName returns the one commonName of a DER Name.
func commonName(der []byte) (string, error) {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) != 0 {
		return "", errors.New("malformed Name")
	}
	cn, found := "", false
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if !atv.Type.Equal(oidCommonName) {
				continue
			}
			s, ok := atv.Value.(string)
			if !ok || found || s == "" {
				return "", errors.New("want exactly one non-empty commonName")
			}
			cn, found = s, true
		}
	}
	if !found {
		return "", errors.New("no commonName")
	}
	return cn, nil
}

// CheckSignatureFrom checks that parent issued c: parent is a CA, c's
// issuer is parent's subject byte for byte, c's authorityKeyIdentifier
// (when present) is parent's subjectKeyIdentifier, c was signed with
// parent's algorithm, and the signature verifies under parent's key. A
// self-signed root checks itself with root.CheckSignatureFrom(root).
// Validity periods are the caller's to check.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	switch {
	case parent == nil || parent.PublicKey == nil:
		return fmt.Errorf("%w: no issuer certificate", ErrSignature)
	case !parent.IsCA:
		return fmt.Errorf("%w: %q is not a CA", ErrSignature, parent.Subject)
	case !bytes.Equal(c.RawIssuer, parent.RawSubject):
		return fmt.Errorf("%w: issued by %q, not %q", ErrSignature, c.Issuer, parent.Subject)
	case c.AuthorityKeyID != nil && !bytes.Equal(c.AuthorityKeyID, parent.SubjectKeyID):
		return fmt.Errorf("%w: authorityKeyIdentifier is not %q's key", ErrSignature, parent.Subject)
	case c.SignatureAlg != parent.Alg:
		return fmt.Errorf("%w: signed with %s, the issuer's key is %s", ErrSignature, c.SignatureAlg, parent.Alg)
	case !credential.VerifyMessage(parent.PublicKey, c.RawTBS, c.signature):
		return fmt.Errorf("%w: the signature does not verify under %q's key", ErrSignature, parent.Subject)
	}
	return nil
}

// ValidAt reports whether t is within the certificate's validity, widened
// by skew on both sides.
func (c *Certificate) ValidAt(t time.Time, skew time.Duration) bool {
	return !t.Before(c.NotBefore.Add(-skew)) && !t.After(c.NotAfter.Add(skew))
}

// UsableAt reports whether the key may have signed at t: within the
// privateKeyUsagePeriod where it gives a bound, else within the validity,
// widened by skew.
func (c *Certificate) UsableAt(t time.Time, skew time.Duration) bool {
	nb, na := c.NotBefore, c.NotAfter
	if !c.UsageNotBefore.IsZero() {
		nb = c.UsageNotBefore
	}
	if !c.UsageNotAfter.IsZero() {
		na = c.UsageNotAfter
	}
	return !t.Before(nb.Add(-skew)) && !t.After(na.Add(skew))
}

// DocumentSignerSubject is the common name of a DS certificate for kid.
func DocumentSignerSubject(kid string) string { return "epermit issuer key " + kid }

// name encodes a Name: C=CN when country, then CN=cn (UTF8String).
func name(cn string, country bool) []byte {
	var rdns [][]byte
	if country {
		rdns = append(rdns, tlv(tagSet, seq(mustMarshal(oidCountry), mustMarshalPrintable("CN"))))
	}
	rdns = append(rdns, tlv(tagSet, seq(mustMarshal(oidCommonName), mustMarshalUTF8(cn))))
	return seq(rdns...)
}

func mustMarshalPrintable(s string) []byte {
	b, err := asn1.MarshalWithParams(s, "printable")
	if err != nil {
		panic(err)
	}
	return b
}

func mustMarshalUTF8(s string) []byte {
	b, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		panic(err)
	}
	return b
}

// template is what a new certificate holds besides its signature.
type template struct {
	issuer, subject     []byte
	notBefore, notAfter time.Time
	spki                []byte
	exts                [][]byte
}

// randomSerial is 16 random bytes, positive.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never shorter than 16 bytes, never zero
	return new(big.Int).SetBytes(b[:]), nil
}

// sign builds tbsCertificate from t and signs it with signer.
func (t template) sign(signer crypto.Signer) ([]byte, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("pki: signer is not an EC issuer-suite key")
	}
	alg, err := credential.KeyAlgorithm(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: signer: %w", err)
	}
	oid, err := sigAlgOID(alg)
	if err != nil {
		return nil, err
	}
	if t.notAfter.Before(t.notBefore) {
		return nil, errors.New("pki: validity ends before it starts")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	nb, err := derTime(t.notBefore)
	if err != nil {
		return nil, err
	}
	na, err := derTime(t.notAfter)
	if err != nil {
		return nil, err
	}
	algID := seq(mustMarshal(oid))
	tbs := seq(
		tlv(0xa0, mustMarshal(2)),
		mustMarshal(serial),
		algID,
		t.issuer,
		seq(nb, na),
		t.subject,
		t.spki,
		tlv(0xa3, seq(t.exts...)))
	rs, _, err := credential.SignMessage(signer, tbs)
	if err != nil {
		return nil, err
	}
	sig := mustMarshal(asn1.BitString{Bytes: derSignature(rs), BitLength: 8 * len(derSignature(rs))})
	return seq(tbs, algID, sig), nil
}

// keyParts returns the SPKI and spec §1 kid of an issuer-suite key.
func keyParts(pub *ecdsa.PublicKey) (spki, kid []byte, err error) {
	if spki, err = credential.MarshalPublicKey(pub); err != nil {
		return nil, nil, err
	}
	if kid, err = credential.KeyID(pub); err != nil {
		return nil, nil, err
	}
	return spki, kid, nil
}

// NewRoot makes a self-signed root certificate for signer's key (ES256 or
// a registered suite): subject and issuer C=CN, CN=commonName; CA with
// pathLenConstraint 0; keyCertSign and cRLSign. It returns the DER.
func NewRoot(signer crypto.Signer, commonName string, notBefore, notAfter time.Time) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("pki: no signer")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("pki: signer is not an EC issuer-suite key")
	}
	if commonName == "" {
		return nil, errors.New("pki: a root needs a name")
	}
	spki, kid, err := keyParts(pub)
	if err != nil {
		return nil, err
	}
	n := name(commonName, true)
	return template{issuer: n, subject: n, notBefore: notBefore, notAfter: notAfter, spki: spki,
		exts: [][]byte{basicConstraintsExt(true), keyUsageExt(kuKeyCertSign | kuCRLSign), subjectKeyIDExt(kid)},
	}.sign(signer)
}

// checkIssuer checks that signer holds the key of the CA certificate ca.
func checkIssuer(ca *Certificate, signer crypto.Signer) error {
	if ca == nil || !ca.IsCA {
		return errors.New("pki: the issuer is not a CA certificate")
	}
	if signer == nil {
		return errors.New("pki: no signer")
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || !pub.Equal(ca.PublicKey) {
		return fmt.Errorf("pki: the signer's key is not the key of %q", ca.Subject)
	}
	return nil
}

// NewCrossCertificate certifies newRoot's subject and key with the old
// root, for a root rollover: a CA certificate (pathLenConstraint 0,
// keyCertSign and cRLSign) valid from newRoot's notBefore to notAfter,
// which must not be after the old root's. It returns the DER.
func NewCrossCertificate(oldRoot *Certificate, oldSigner crypto.Signer, newRoot *Certificate, notAfter time.Time) ([]byte, error) {
	if err := checkIssuer(oldRoot, oldSigner); err != nil {
		return nil, err
	}
	if newRoot == nil || !newRoot.IsCA {
		return nil, errors.New("pki: the new root is not a CA certificate")
	}
	if err := newRoot.CheckSignatureFrom(newRoot); err != nil {
		return nil, fmt.Errorf("pki: the new root is not self-signed: %w", err)
	}
	if notAfter.After(oldRoot.NotAfter) {
		return nil, errors.New("pki: a cross certificate cannot outlive the old root")
	}
	kid, _ := base64.RawURLEncoding.DecodeString(newRoot.KeyID)
	return template{issuer: oldRoot.RawSubject, subject: newRoot.RawSubject, notBefore: newRoot.NotBefore,
		notAfter: notAfter, spki: newRoot.RawSubjectPublicKeyInfo,
		exts: [][]byte{basicConstraintsExt(true), keyUsageExt(kuKeyCertSign | kuCRLSign), subjectKeyIDExt(kid),
			authorityKeyIDExt(oldRoot.SubjectKeyID)},
	}.sign(oldSigner)
}

// IssueDocumentSigner certifies the key of a checked request (ParseCSR)
// with the root: subject CN=epermit issuer key <kid>, not a CA,
// digitalSignature, the request's privateKeyUsagePeriod, valid from the
// usage period's start to notAfter, which must cover the usage period
// (callers add the longest credential the key may sign) and not outlive
// the root. It returns the DER.
func IssueDocumentSigner(root *Certificate, rootSigner crypto.Signer, csr *CSR, notAfter time.Time) ([]byte, error) {
	if err := checkIssuer(root, rootSigner); err != nil {
		return nil, err
	}
	if csr == nil || csr.PublicKey == nil || csr.UsageNotBefore.IsZero() || csr.UsageNotAfter.IsZero() {
		return nil, errors.New("pki: the request has no key or no usage period")
	}
	switch {
	case notAfter.Before(csr.UsageNotAfter):
		return nil, errors.New("pki: the certificate would end before the key's usage period")
	case notAfter.After(root.NotAfter):
		return nil, errors.New("pki: the certificate would outlive the root")
	case csr.UsageNotBefore.Before(root.NotBefore):
		return nil, errors.New("pki: the usage period starts before the root is valid")
	}
	spki, kid, err := keyParts(csr.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := checkURIs(csr.URIs); err != nil {
		return nil, err
	}
	exts := [][]byte{basicConstraintsExt(false), keyUsageExt(kuDigitalSignature), subjectKeyIDExt(kid),
		authorityKeyIDExt(root.SubjectKeyID),
		newExtension(oidPrivateKeyUsagePeriod, false, privateKeyUsagePeriodValue(csr.UsageNotBefore, csr.UsageNotAfter))}
	if len(csr.URIs) > 0 {
		exts = append(exts, subjectAltNameExt(csr.URIs))
	}
	return template{issuer: root.RawSubject, subject: name(DocumentSignerSubject(csr.KeyID), false),
		notBefore: csr.UsageNotBefore, notAfter: notAfter, spki: spki, exts: exts}.sign(rootSigner)
}
