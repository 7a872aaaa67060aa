package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	gmsm "github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/epermit/epermit/credential"
	_ "github.com/epermit/epermit/credential/sm2" // these tests are an SM2-enabled verifier
)

const sm2VectorsName = "vectors-sm2.json"

const sm2VectorsDescription = "EP1 presentations of spec/formats.md §1.1, the SM2 with SM3 suite, for a verifier " +
	"that supports it, run exactly as vectors.json: verify `text` at `at` for `use` with `jwks` as the trust list, " +
	"which holds an SM2 key and a P-256 key, with `status_list` served at the credential's status URI " +
	"and `max_status_age` as the gate's maximum list age (a list's age is `at` − its iat); the result must show " +
	"`status_age_seconds` when given. " +
	"The `algorithm` cases carry an alg that is not their key's and must be refused, never tried."

// TestVectorsSM2 runs the SM2 suite's vectors: an SM2-signed e-permit with
// SM2-signed status lists, beside an ES256 key in the same trust list, and
// the algorithm mismatches of spec §1.1.
func TestVectorsSM2(t *testing.T) {
	if *update {
		writeSM2Vectors(t)
	}
	codes := runVectors(t, readVectorFile(t, sm2VectorsName))
	for _, c := range []Code{"", CodeUnknownKey, CodeAlgorithm, CodeBadSignature, CodeRevoked, CodeSuspended, WarnStatusUnknown} {
		if !codes[c] {
			t.Errorf("no SM2 vector gives %q", c)
		}
	}
}

func readSM2Key(t testing.TB, name string) *gmsm.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := k.(*gmsm.PrivateKey)
	if !ok {
		t.Fatalf("%s is not an SM2 key", name)
	}
	return priv
}

// Protected headers as they appear in a COSE_Sign1, with their bstr head:
// {1: -70100} and {1: -7}; and the status list's {1: alg, 16: typ}
// prefixes.
var (
	protSM2   = []byte{0x47, 0xa1, 0x01, 0x3a, 0x00, 0x01, 0x11, 0xd3}
	protES256 = []byte{0x43, 0xa1, 0x01, 0x26}
	listSM2   = []byte{0x58, 0x24, 0xa2, 0x01, 0x3a, 0x00, 0x01, 0x11, 0xd3, 0x10}
	listES256 = []byte{0x58, 0x20, 0xa2, 0x01, 0x26, 0x10}
)

func replaceOnce(t *testing.T, b, old, new []byte) []byte {
	t.Helper()
	if bytes.Count(b, old) != 1 {
		t.Fatalf("% x is not in the token exactly once", old)
	}
	return bytes.Replace(b, old, new, 1)
}

func writeSM2Vectors(t *testing.T) {
	sm2Issuer, sm2Other := readSM2Key(t, "sm2-issuer-key.pem"), readSM2Key(t, "sm2-other-key.pem")
	es256Issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	var set credential.JWKSet
	for _, k := range []*ecdsa.PublicKey{&sm2Issuer.PublicKey, &es256Issuer.PublicKey} {
		j, err := credential.NewJWK(k)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	claims := fixtureClaims(&holder.PublicKey)
	cred := sign(t, claims, sm2Issuer)
	good := present(t, cred, holder, vProof)
	esCred := sign(t, claims, es256Issuer)

	flipped := bytes.Clone(cred)
	flipped[len(flipped)-1] ^= 1
	// The SM2 credential relabelled ES256, and the ES256 one relabelled
	// SM2: each names its own kid, whose key is of the other algorithm.
	sm2AsES256 := replaceOnce(t, cred, protSM2, protES256)
	es256AsSM2 := replaceOnce(t, esCred, protES256, protSM2)
	// The SM2 credential under the P-256 key's kid: the unprotected kid is
	// not signed, so the SM2 signature is intact; the key says ES256.
	sm2Kid, _ := credential.KeyID(&sm2Issuer.PublicKey)
	esKid, _ := credential.KeyID(&es256Issuer.PublicKey)
	underP256 := replaceOnce(t, cred, sm2Kid, esKid)

	// Status lists signed two minutes before the scan with a ttl of 5
	// minutes, as the authority serves them (spec §5: re-signed within
	// ttl), so their age is 120 s; and SM2 lists dated too far from the
	// scan, which the freshness rules of spec §4 check 12 refuse as for
	// ES256.
	lists := map[string]string{}
	signed := vScan.Add(-2 * time.Minute)
	for name, tc := range map[string]struct {
		key crypto.Signer
		v   credential.StatusValue
		iat time.Time
	}{
		"valid": {sm2Issuer, 0, signed}, "revoked": {sm2Issuer, 1, signed}, "suspended": {sm2Issuer, 2, signed},
		"es256 valid": {es256Issuer, 0, signed}, "claims ES256": {sm2Issuer, 1, signed}, "altered": {sm2Issuer, 1, signed},
		"revoked 2h old": {sm2Issuer, 1, vScan.Add(-2 * time.Hour)}, "revoked 1h ahead": {sm2Issuer, 1, vScan.Add(time.Hour)},
	} {
		l, err := credential.NewStatusList(16384)
		if err != nil {
			t.Fatal(err)
		}
		l.Set(claims.Status.Idx, tc.v)
		kid, _ := credential.KeyID(tc.key.Public().(*ecdsa.PublicKey))
		tok, err := credential.SignStatusListCWT(credential.StatusListClaims{Subject: claims.Status.URI,
			IssuedAt: tc.iat, Expiry: tc.iat.Add(24 * time.Hour), TTL: 5 * time.Minute, List: l}, nil, kid, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "claims ES256":
			tok = replaceOnce(t, tok, listSM2, listES256)
		case "altered":
			tok[len(tok)-1] ^= 1
		}
		lists[name] = base64.RawURLEncoding.EncodeToString(tok)
	}

	secs := func(s float64) *float64 { return &s }
	cases := []vectorCase{
		{Name: "SM2 valid", Text: good, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Accept, StatusAge: secs(120)},
		{Name: "ES256 valid beside SM2 in the trust list", Text: present(t, esCred, holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["es256 valid"], Decision: Accept, StatusAge: secs(120)},
		{Name: "SM2 status list unavailable", Text: good, At: vScan, Use: UseFlight, Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "SM2 unknown key", Text: present(t, sign(t, claims, sm2Other), holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeUnknownKey},
		{Name: "SM2 credential claiming ES256", Text: present(t, sm2AsES256, holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeAlgorithm},
		{Name: "ES256 credential claiming SM2", Text: present(t, es256AsSM2, holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["es256 valid"], Decision: Reject, Code: CodeAlgorithm},
		{Name: "SM2 signature under a P-256 key's kid", Text: present(t, underP256, holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeAlgorithm},
		{Name: "SM2 signature altered", Text: present(t, flipped, holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeBadSignature},
		{Name: "SM2 border use", Text: good, At: vScan, Use: UseBorder, StatusList: lists["valid"], Decision: Reject, Code: CodeScope},
		{Name: "SM2 revoked", Text: good, At: vScan, Use: UseFlight, StatusList: lists["revoked"], Decision: Reject, Code: CodeRevoked, StatusAge: secs(120)},
		{Name: "SM2 suspended", Text: good, At: vScan, Use: UseFlight, StatusList: lists["suspended"], Decision: Reject, Code: CodeSuspended, StatusAge: secs(120)},
		{Name: "SM2 status list 2 h old, past its ttl", Text: good, At: vScan, Use: UseFlight, StatusList: lists["revoked 2h old"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "SM2 status list 2 h old, 3 h maximum age", Text: good, At: vScan, Use: UseFlight, StatusList: lists["revoked 2h old"], MaxStatusAge: 3 * 3600, Decision: Reject, Code: CodeRevoked, StatusAge: secs(7200)},
		{Name: "SM2 status list iat 1 h ahead", Text: good, At: vScan, Use: UseFlight, StatusList: lists["revoked 1h ahead"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "SM2 status list claiming ES256", Text: good, At: vScan, Use: UseFlight, StatusList: lists["claims ES256"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "SM2 status list altered", Text: good, At: vScan, Use: UseFlight, StatusList: lists["altered"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
	}
	out, err := json.MarshalIndent(vectorFile{Description: sm2VectorsDescription, JWKS: jwks, Cases: cases}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", sm2VectorsName), append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
