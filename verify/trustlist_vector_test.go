package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gmsm "github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
)

const trustVectorsName = "trustlist-vectors.json"

const trustVectorsDescription = "Signed trust lists of spec/formats.md §1.2 and presentations verified with them. " +
	"`roots` are root certificates (PEM) and `lists` signed lists (JWT) by name. " +
	"A list case: configure the verifier with root `root`, accept the lists named in `held` in order at `held_at` " +
	"(each must be accepted), then offer `list` at `at`: the result must be `code` (empty: accepted), and after it " +
	"the list held must have seq `seq` and exactly the keys `kids`. " +
	"A presentation case: configure root `root`, accept `lists` in order at `lists_at`, then verify `text` (EP1 QR) " +
	"at `at` for `use` with no status list to be had, expecting `decision`, `code` and `warnings` as in vectors.json. " +
	"Skew 5 min, proof window 60 s. SM2 cases need the SM2 suite (spec §1.1); a verifier without it leaves " +
	"SM2 keys out of L8-mixed and cannot take sm2-root."

type trustVectorFile struct {
	Description   string              `json:"description"`
	Roots         map[string]string   `json:"roots"`
	Lists         map[string]string   `json:"lists"`
	ListCases     []trustListCase     `json:"list_cases"`
	Presentations []trustPresentation `json:"presentation_cases"`
}

type trustListCase struct {
	Name   string    `json:"name"`
	Root   string    `json:"root"`
	Held   []string  `json:"held,omitempty"`
	HeldAt time.Time `json:"held_at,omitzero"`
	List   string    `json:"list"`
	At     time.Time `json:"at"`
	Code   Code      `json:"code,omitempty"`
	Seq    uint64    `json:"seq"`
	Kids   []string  `json:"kids"`
}

type trustPresentation struct {
	Name     string    `json:"name"`
	Root     string    `json:"root"`
	Lists    []string  `json:"lists"`
	ListsAt  time.Time `json:"lists_at"`
	Text     string    `json:"text"`
	At       time.Time `json:"at"`
	Use      Use       `json:"use"`
	Decision Decision  `json:"decision"`
	Code     Code      `json:"code,omitempty"`
	Warnings []Code    `json:"warnings,omitempty"`
}

// TestTrustListVectors runs testdata/trustlist-vectors.json: a list signed
// by another root, a DS certificate of another root, an expired list, a
// list from the future, a rolled-back seq, a root rollover through a cross
// certificate; and presentations by a revoked key, a key outside its
// certificate's validity, a key that signed after its usage period, a key
// rotated in through a newer list, under an expired list. Regenerate with
// go test ./verify -run TestTrustListVectors -update (fixture keys that are
// missing are made then; ECDSA is randomized, so every list changes).
func TestTrustListVectors(t *testing.T) {
	if *update {
		writeTrustVectors(t)
	}
	b, err := os.ReadFile(filepath.Join("testdata", trustVectorsName))
	if err != nil {
		t.Fatal(err)
	}
	var vf trustVectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	codes := map[Code]bool{}
	for _, c := range vf.ListCases {
		t.Run("list/"+c.Name, func(t *testing.T) {
			root := vectorRoot(t, vf, c.Root)
			held := acceptLists(t, vf, root, c.Held, c.HeldAt)
			got, err := ParseSignedTrustList([]byte(vf.Lists[c.List]), root, held, c.List, c.At)
			var code Code
			if err != nil {
				var te *TrustListError
				if !errors.As(err, &te) {
					t.Fatalf("error %v is not a *TrustListError", err)
				}
				code = te.Code
				got = held
			}
			if code != c.Code {
				t.Fatalf("code %q (%v), want %q", code, err, c.Code)
			}
			if got.Seq() != c.Seq || !slices.Equal(kidsOf(got), c.Kids) {
				t.Fatalf("holding seq %d keys %v, want seq %d keys %v", got.Seq(), kidsOf(got), c.Seq, c.Kids)
			}
		})
		codes[c.Code] = true
	}
	for _, c := range vf.Presentations {
		t.Run("presentation/"+c.Name, func(t *testing.T) {
			trust := acceptLists(t, vf, vectorRoot(t, vf, c.Root), c.Lists, c.ListsAt)
			r := New(trust, nil, Policy{Use: c.Use}).Verify(context.Background(), c.Text, c.At)
			if r.Decision != c.Decision || r.Code != c.Code || !equalCodes(r.Warnings, c.Warnings) {
				t.Fatalf("Verify = %s %q %v; want %s %q %v", r.Decision, r.Code, r.Warnings, c.Decision, c.Code, c.Warnings)
			}
			if r.Code != "" && r.Message == "" {
				t.Errorf("code %s has no message", r.Code)
			}
		})
		codes[c.Code] = true
	}
	for _, c := range []Code{"", CodeTrustListFormat, CodeTrustListSignature, CodeTrustListExpired, CodeTrustListNotYetValid,
		CodeTrustListRollback, CodeKeyRevoked, CodeKeyNotValid, CodeUnknownKey} {
		if !codes[c] {
			t.Errorf("no trust list vector gives %q", c)
		}
	}
}

func vectorRoot(t *testing.T, vf trustVectorFile, name string) *pki.Certificate {
	t.Helper()
	root, err := ParseRoot([]byte(vf.Roots[name]))
	if err != nil {
		t.Fatalf("root %q: %v", name, err)
	}
	return root
}

func acceptLists(t *testing.T, vf trustVectorFile, root *pki.Certificate, names []string, at time.Time) *TrustList {
	t.Helper()
	var held *TrustList
	for _, n := range names {
		l, err := ParseSignedTrustList([]byte(vf.Lists[n]), root, held, n, at)
		if err != nil {
			t.Fatalf("held list %s: %v", n, err)
		}
		held = l
	}
	return held
}

func kidsOf(l *TrustList) []string {
	kids := []string{}
	if l == nil {
		return kids
	}
	for k := range l.keys {
		kids = append(kids, k)
	}
	slices.Sort(kids)
	return kids
}

// Vector times: roots from 2026-01-01, lists signed 2026-12-01 00:00 UTC
// for 30 days, scans at vScan (2026-12-01 03:00:10).
var (
	tvRootFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tvListIAT  = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tvListExp  = tvListIAT.AddDate(0, 0, 30)
)

// fixtureKey reads a P-256 or SM2 PKCS#8 key from testdata, making it first
// when -update runs and it is missing.
func fixtureKey(t *testing.T, name string, sm2 bool) crypto.Signer {
	t.Helper()
	path := filepath.Join("testdata", name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && *update {
		var der []byte
		if sm2 {
			k, _ := gmsm.GenerateKey(rand.Reader)
			der, err = smx509.MarshalPKCS8PrivateKey(k)
		} else {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if sm2 {
		return readSM2Key(t, name)
	}
	return readKey(t, name)
}

// tvRoot is a fixture root: its key and certificate.
type tvRoot struct {
	key  crypto.Signer
	cert *pki.Certificate
}

func makeRoot(t *testing.T, key crypto.Signer, from time.Time) tvRoot {
	t.Helper()
	der, err := pki.NewRoot(key, "epermit test root", from, from.AddDate(20, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tvRoot{key, c}
}

// certify makes a DS certificate for key with the usage period [from, to]
// and validity ending at notAfter.
func certify(t *testing.T, r tvRoot, key crypto.Signer, from, to, notAfter time.Time) []byte {
	t.Helper()
	req, err := pki.NewCSR(key, from, to)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(req)
	if err != nil {
		t.Fatal(err)
	}
	der, err := pki.IssueDocumentSigner(r.cert, r.key, csr, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func signTrustList(t *testing.T, r tvRoot, seq uint64, iat, exp time.Time, certs [][]byte, revoked []pki.RevokedKey, cross []byte) string {
	t.Helper()
	s, err := pki.SignTrustList(pki.TrustListClaims{Issuer: "https://epermit.example", Seq: seq, IssuedAt: iat, Expiry: exp,
		Certificates: certs, Revoked: revoked}, r.cert, r.key, cross)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawList signs header and claims as given, without the checks of
// pki.SignTrustList: a list a careless or hostile root side could make.
func rawList(t *testing.T, key crypto.Signer, header, claims any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sig, _, err := credential.SignMessage(key, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func kidOf(t *testing.T, k crypto.Signer) string {
	t.Helper()
	kid, err := credential.KeyIDString(k.Public().(*ecdsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

func writeTrustVectors(t *testing.T) {
	issuer, other, holder := readKey(t, "issuer-key.pem"), readKey(t, "other-key.pem"), readKey(t, "holder-key.pem")
	revokedKey := fixtureKey(t, "revoked-issuer-key.pem", false)
	expiredKey := fixtureKey(t, "expired-issuer-key.pem", false)
	lapsedKey := fixtureKey(t, "lapsed-issuer-key.pem", false)
	root := makeRoot(t, fixtureKey(t, "root-key.pem", false), tvRootFrom)
	otherRoot := makeRoot(t, fixtureKey(t, "other-root-key.pem", false), tvRootFrom)
	newRoot := makeRoot(t, fixtureKey(t, "new-root-key.pem", false), tvRootFrom.AddDate(0, 5, 0))
	sm2Root := makeRoot(t, fixtureKey(t, "sm2-root-key.pem", true), tvRootFrom)
	sm2Issuer := readSM2Key(t, "sm2-issuer-key.pem")

	// Usage periods: the current keys from 2026-11-01 for 90 days, valid
	// 30 days more; the expired key's certificate ended 2026-11-24; the
	// lapsed key could sign until 2026-11-25 and its certificate runs to
	// 2026-12-25, so it is valid now but the credential it signed on
	// 2026-12-01 is not.
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 90)
	ds1 := certify(t, root, issuer, from, to, to.AddDate(0, 0, 30))
	ds2 := certify(t, root, other, from, to, to.AddDate(0, 0, 30))
	dsExpired := certify(t, root, expiredKey, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	dsLapsed := certify(t, root, lapsedKey, from, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 25, 0, 0, 0, 0, time.UTC))
	ds1Other := certify(t, otherRoot, issuer, from, to, to.AddDate(0, 0, 30))
	ds1New := certify(t, newRoot, issuer, from, to, to.AddDate(0, 0, 30))
	ds2New := certify(t, newRoot, other, from, to, to.AddDate(0, 0, 30))
	dsSM2 := certify(t, sm2Root, sm2Issuer, from, to, to.AddDate(0, 0, 30))
	dsSM2ByRoot := certify(t, root, sm2Issuer, from, to, to.AddDate(0, 0, 30))
	cross, err := pki.NewCrossCertificate(root.cert, root.key, newRoot.cert, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	strangerCross, err := pki.NewCrossCertificate(otherRoot.cert, otherRoot.key, newRoot.cert, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	revoked := []pki.RevokedKey{{Kid: kidOf(t, revokedKey), RevokedAt: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)}}

	l8 := signTrustList(t, root, 8, tvListIAT, tvListExp, [][]byte{ds1, ds2, dsExpired, dsLapsed}, revoked, nil)
	// L8 with one byte of its signature flipped (re-encoded, so still
	// strict base64url).
	parts := strings.Split(l8, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[10] ^= 1
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	// A list the root signed naming a DS certificate of another root.
	j1, _ := credential.NewJWK(&issuer.PublicKey)
	foreign := rawList(t, root.key,
		map[string]any{"alg": "ES256", "typ": pki.TrustListTyp, "kid": root.cert.KeyID},
		map[string]any{"iss": "https://epermit.example", "seq": 8, "iat": tvListIAT.Unix(), "exp": tvListExp.Unix(),
			"keys": []any{map[string]any{"kty": j1.Kty, "crv": j1.Crv, "x": j1.X, "y": j1.Y, "kid": j1.Kid, "alg": j1.Alg,
				"use": j1.Use, "x5c": []string{base64.StdEncoding.EncodeToString(ds1Other)}}},
			"revoked": []any{}})

	vf := trustVectorFile{
		Description: trustVectorsDescription,
		Roots: map[string]string{
			"root":       string(pki.EncodePEM(pki.PEMCertificate, root.cert.Raw)),
			"other-root": string(pki.EncodePEM(pki.PEMCertificate, otherRoot.cert.Raw)),
			"new-root":   string(pki.EncodePEM(pki.PEMCertificate, newRoot.cert.Raw)),
			"sm2-root":   string(pki.EncodePEM(pki.PEMCertificate, sm2Root.cert.Raw)),
		},
		Lists: map[string]string{
			"L7":   signTrustList(t, root, 7, tvListIAT, tvListExp, [][]byte{ds1, dsExpired, dsLapsed}, revoked, nil),
			"L7-b": signTrustList(t, root, 7, tvListIAT, tvListExp, [][]byte{ds1, ds2}, nil, nil),
			"L6": signTrustList(t, root, 6, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
				time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), [][]byte{ds1}, nil, nil),
			"L8":            l8,
			"L8-tampered":   tampered,
			"L8-other-root": signTrustList(t, otherRoot, 8, tvListIAT, tvListExp, [][]byte{ds1Other}, nil, nil),
			"L8-foreign-ds": foreign,
			"L8-future":     signTrustList(t, root, 8, tvListIAT.AddDate(0, 0, 5), tvListExp, [][]byte{ds1}, nil, nil),
			"L9-rollover":   signTrustList(t, newRoot, 9, tvListIAT, tvListExp, [][]byte{ds1New, ds2New}, revoked, cross),
			"L9-stranger":   signTrustList(t, newRoot, 9, tvListIAT, tvListExp, [][]byte{ds1New, ds2New}, nil, strangerCross),
			"L10":           signTrustList(t, newRoot, 10, tvListIAT, tvListExp, [][]byte{ds1New}, nil, nil),
			"not-a-list":    "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
			"SM2-1":         signTrustList(t, sm2Root, 1, tvListIAT, tvListExp, [][]byte{dsSM2}, nil, nil),
			"L8-mixed":      signTrustList(t, root, 8, tvListIAT, tvListExp, [][]byte{ds1, dsSM2ByRoot}, nil, nil),
		},
	}
	k1, k2, kx, kl := kidOf(t, issuer), kidOf(t, other), kidOf(t, expiredKey), kidOf(t, lapsedKey)
	sorted := func(k ...string) []string { slices.Sort(k); return k }
	l7Kids := sorted(k1, kx, kl)
	afterExp := tvListExp.Add(DefaultSkew + time.Second)
	vf.ListCases = []trustListCase{
		{Name: "accepted", Root: "root", List: "L7", At: vScan, Seq: 7, Kids: l7Kids},
		{Name: "newer seq brings a rotated key", Root: "root", Held: []string{"L7"}, HeldAt: vScan, List: "L8", At: vScan,
			Seq: 8, Kids: sorted(k1, k2, kx, kl)},
		{Name: "rollback", Root: "root", Held: []string{"L7"}, HeldAt: vScan, List: "L6", At: vScan,
			Code: CodeTrustListRollback, Seq: 7, Kids: l7Kids},
		{Name: "same seq keeps the list held", Root: "root", Held: []string{"L7"}, HeldAt: vScan, List: "L7-b", At: vScan,
			Seq: 7, Kids: l7Kids},
		{Name: "signed by another root", Root: "root", List: "L8-other-root", At: vScan, Code: CodeTrustListSignature, Kids: []string{}},
		{Name: "a DS certificate of another root", Root: "root", List: "L8-foreign-ds", At: vScan, Code: CodeTrustListSignature, Kids: []string{}},
		{Name: "altered signature", Root: "root", Held: []string{"L7"}, HeldAt: vScan, List: "L8-tampered", At: vScan,
			Code: CodeTrustListSignature, Seq: 7, Kids: l7Kids},
		{Name: "not a list", Root: "root", List: "not-a-list", At: vScan, Code: CodeTrustListFormat, Kids: []string{}},
		{Name: "expired", Root: "root", List: "L7", At: afterExp, Code: CodeTrustListExpired, Kids: []string{}},
		{Name: "dated in the future", Root: "root", List: "L8-future", At: vScan, Code: CodeTrustListNotYetValid, Kids: []string{}},
		{Name: "root rollover through a cross certificate", Root: "root", Held: []string{"L7"}, HeldAt: vScan,
			List: "L9-rollover", At: vScan, Seq: 9, Kids: sorted(k1, k2)},
		{Name: "after the rollover, the new root alone", Root: "root", Held: []string{"L7", "L9-rollover"}, HeldAt: vScan,
			List: "L10", At: vScan, Seq: 10, Kids: []string{k1}},
		{Name: "after the rollover, not the old root", Root: "root", Held: []string{"L7", "L9-rollover"}, HeldAt: vScan,
			List: "L8", At: vScan, Code: CodeTrustListSignature, Seq: 9, Kids: sorted(k1, k2)},
		{Name: "a gate configured with the new root", Root: "new-root", List: "L10", At: vScan, Seq: 10, Kids: []string{k1}},
		{Name: "a cross certificate by a root not held", Root: "root", Held: []string{"L7"}, HeldAt: vScan,
			List: "L9-stranger", At: vScan, Code: CodeTrustListSignature, Seq: 7, Kids: l7Kids},
		{Name: "SM2 root", Root: "sm2-root", List: "SM2-1", At: vScan, Seq: 1, Kids: []string{kidOf(t, sm2Issuer)}},
		{Name: "an ES256 root certifying an SM2 key", Root: "root", List: "L8-mixed", At: vScan, Seq: 8,
			Kids: sorted(k1, kidOf(t, sm2Issuer))},
	}

	claims := fixtureClaims(&holder.PublicKey)
	qr := func(key crypto.Signer, proofAt time.Time) string {
		return present(t, sign(t, claims, key), holder, proofAt)
	}
	late := tvListExp.Add(time.Hour)
	warn := []Code{WarnStatusUnknown}
	vf.Presentations = []trustPresentation{
		{Name: "certified key", Root: "root", Lists: []string{"L7"}, Text: qr(issuer, vProof), At: vScan,
			Decision: AcceptWithWarning, Warnings: warn},
		{Name: "revoked key", Root: "root", Lists: []string{"L7"}, Text: qr(revokedKey, vProof), At: vScan,
			Decision: Reject, Code: CodeKeyRevoked},
		{Name: "rotated key before the new list", Root: "root", Lists: []string{"L7"}, Text: qr(other, vProof), At: vScan,
			Decision: Reject, Code: CodeUnknownKey},
		{Name: "rotated key through the new list", Root: "root", Lists: []string{"L7", "L8"}, Text: qr(other, vProof), At: vScan,
			Decision: AcceptWithWarning, Warnings: warn},
		{Name: "now after the certificate's validity", Root: "root", Lists: []string{"L7"}, Text: qr(expiredKey, vProof), At: vScan,
			Decision: Reject, Code: CodeKeyNotValid},
		{Name: "signed after the usage period", Root: "root", Lists: []string{"L7"}, Text: qr(lapsedKey, vProof), At: vScan,
			Decision: Reject, Code: CodeKeyNotValid},
		{Name: "the list held has expired", Root: "root", Lists: []string{"L7"}, Text: qr(issuer, late.Add(-10*time.Second)), At: late,
			Decision: Reject, Code: CodeTrustListExpired},
		{Name: "after a root rollover", Root: "root", Lists: []string{"L7", "L9-rollover"}, Text: qr(issuer, vProof), At: vScan,
			Decision: AcceptWithWarning, Warnings: warn},
		{Name: "SM2 root and key", Root: "sm2-root", Lists: []string{"SM2-1"}, Text: qr(sm2Issuer, vProof), At: vScan,
			Decision: AcceptWithWarning, Warnings: warn},
		{Name: "SM2 key certified by an ES256 root", Root: "root", Lists: []string{"L8-mixed"}, Text: qr(sm2Issuer, vProof), At: vScan,
			Decision: AcceptWithWarning, Warnings: warn},
	}
	for i := range vf.Presentations {
		vf.Presentations[i].ListsAt, vf.Presentations[i].Use = vScan, UseTrain
	}
	b, err := json.MarshalIndent(vf, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", trustVectorsName), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	// The root and list the package example configures a gate with.
	if err := os.WriteFile(filepath.Join("testdata", "example-root.pem"), []byte(vf.Roots["root"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "example-trust-list.jwt"), []byte(vf.Lists["L7"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
