package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

var (
	lIssued = time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC)
	lProof  = lIssued.Add(24 * time.Hour)
	lNow    = lProof.Add(20 * time.Second)
)

const (
	lAud   = "urn:epermit:institution:bank-1"
	lNonce = "c0ffee-42"
)

func linkageClaims(holder *ecdsa.PublicKey) credential.LinkageClaims {
	return credential.LinkageClaims{
		Issuer: "https://epermit.example", IssuedAt: lIssued, Expiry: lIssued.Add(30 * 24 * time.Hour), Holder: holder,
		Status: credential.StatusRef{Idx: 99, URI: "https://epermit.example/s/3"},
		Name:   "陳大文", LatinName: "CHAN, TAI MAN", BirthDate: "1990-01-01", Sex: credential.SexMale,
		TravelPermitType: "hk", TravelPermitNumber: "H12345678", ResidencePermitNumber: "810000199001010013",
	}
}

func issueLinkage(t testing.TB, issuer *ecdsa.PrivateKey, c credential.LinkageClaims) string {
	t.Helper()
	kid, err := credential.KeyIDString(&issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := credential.IssueLinkage(c, kid, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func presentLinkage(t testing.TB, sd string, holder *ecdsa.PrivateKey, aud, nonce string, at time.Time, claims ...string) string {
	t.Helper()
	p, err := credential.PresentLinkage(sd, claims, holder, aud, nonce, at)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signJWS makes a compact ES256 JWS from any header and claims, so tests
// can forge what the credential package would never issue.
func signJWS(t testing.TB, key *ecdsa.PrivateKey, header, claims any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// decodeJWT returns a JWT's header and claims as maps.
func decodeJWT(t testing.TB, jwt string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatalf("not a JWT: %s", jwt)
	}
	return header, claims
}

// reissue re-signs an SD-JWT's issuer JWT after edit changes its header or
// claims, keeping the disclosures.
func reissue(t testing.TB, sd string, key *ecdsa.PrivateKey, edit func(h, c map[string]any)) string {
	t.Helper()
	jwt, rest, _ := strings.Cut(sd, "~")
	h, c := decodeJWT(t, jwt)
	edit(h, c)
	return signJWS(t, key, h, c) + "~" + rest
}

// kb appends a hand-made KB-JWT to presented (which ends in "~").
func kb(t testing.TB, presented string, key *ecdsa.PrivateKey, header map[string]any, edit func(c map[string]any)) string {
	t.Helper()
	c := map[string]any{"iat": lProof.Unix(), "aud": lAud, "nonce": lNonce, "sd_hash": credential.SDHash(presented)}
	if edit != nil {
		edit(c)
	}
	if header == nil {
		header = map[string]any{"alg": "ES256", "typ": "kb+jwt"}
	}
	return presented + signJWS(t, key, header, c)
}

// disclosuresOf returns the issued SD-JWT's issuer JWT and disclosures by
// claim name.
func disclosuresOf(t testing.TB, sd string) (jwt string, ds map[string]string) {
	t.Helper()
	parts := strings.Split(strings.TrimSuffix(sd, "~"), "~")
	ds = map[string]string{}
	for _, enc := range parts[1:] {
		d, err := credential.ParseDisclosure(enc)
		if err != nil {
			t.Fatal(err)
		}
		ds[d.Name] = enc
	}
	return parts[0], ds
}

func TestVerifyLinkage(t *testing.T) {
	issuer, holder, other := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem"), readKey(t, "other-key.pem")
	trust := trustOf(t, issuer)
	sd := issueLinkage(t, issuer, linkageClaims(&holder.PublicKey))
	jwt, ds := disclosuresOf(t, sd)
	two := []string{credential.ClaimTravelPermitNumber, credential.ClaimResidencePermitNumber}
	good := presentLinkage(t, sd, holder, lAud, lNonce, lProof, two...)
	presented := good[:strings.LastIndexByte(good, '~')+1]
	tpn, rpn := ds[credential.ClaimTravelPermitNumber], ds[credential.ClaimResidencePermitNumber]

	// A disclosure whose value was changed: same salt and name, new value.
	d, _ := credential.ParseDisclosure(rpn)
	tb, _ := json.Marshal([]any{d.Salt, d.Name, "810000199001010021"})
	tampered := base64.RawURLEncoding.EncodeToString(tb)
	foreign := issueLinkage(t, issuer, linkageClaims(&holder.PublicKey))
	_, fds := disclosuresOf(t, foreign)

	withDisclosures := func(ds ...string) string {
		s := jwt + "~"
		for _, d := range ds {
			s += d + "~"
		}
		return s
	}
	forged := func(edit func(h, c map[string]any), key *ecdsa.PrivateKey) string {
		s := reissue(t, withDisclosures(tpn, rpn), key, edit)
		return kb(t, s, holder, nil, nil)
	}

	tests := []struct {
		name     string
		text     string
		now      time.Time
		status   StatusSource
		keys     Keys
		required []string
		decision Decision
		code     Code
	}{
		{name: "accepted", text: good, status: fixedStatus("valid"), decision: Accept},
		{name: "hand-made KB-JWT accepted", text: kb(t, presented, holder, nil, nil), status: fixedStatus("valid"), decision: Accept},
		{name: "no status source", text: good, status: nil, decision: AcceptWithWarning},
		{name: "status list unavailable", text: good, status: fixedStatus("down"), decision: AcceptWithWarning},
		{name: "not an SD-JWT", text: "EP1:NCFOXN", code: CodeFormat},
		{name: "garbage disclosure", text: jwt + "~!!~", code: CodeFormat},
		{name: "unknown key", text: good, keys: trustOf(t, other), code: CodeUnknownKey},
		{name: "another key under the issuer's kid", text: forged(func(h, c map[string]any) {}, other), code: CodeBadSignature},
		{name: "alg not ES256", text: forged(func(h, c map[string]any) { h["alg"] = "ES384" }, issuer), code: CodeAlgorithm},
		{name: "typ", text: forged(func(h, c map[string]any) { h["typ"] = "vc+sd-jwt" }, issuer), code: CodeTyp},
		{name: "vct", text: forged(func(h, c map[string]any) { c["vct"] = "urn:other" }, issuer), code: CodeVCT},
		{name: "_sd_alg", text: forged(func(h, c map[string]any) { c["_sd_alg"] = "sha-512" }, issuer), code: CodeAlgorithm},
		{name: "not yet valid", text: good, now: lIssued.Add(-6 * time.Minute), code: CodeNotYetValid},
		{name: "expired", text: good, now: lIssued.Add(30*24*time.Hour + 5*time.Minute), code: CodeExpired},
		{name: "tampered disclosure", text: kb(t, withDisclosures(tpn, tampered), holder, nil, nil), code: CodeDisclosure},
		{name: "foreign disclosure", text: kb(t, withDisclosures(tpn, rpn, fds[credential.ClaimName]), holder, nil, nil), code: CodeDisclosure},
		{name: "duplicate disclosure", text: kb(t, withDisclosures(tpn, rpn, rpn), holder, nil, nil), code: CodeDisclosure},
		{name: "no KB-JWT", text: presented, code: CodeBadHolderProof},
		{name: "KB-JWT by another key", text: kb(t, presented, other, nil, nil), code: CodeBadHolderProof},
		{name: "KB-JWT typ", text: kb(t, presented, holder, map[string]any{"alg": "ES256", "typ": "JWT"}, nil), code: CodeTyp},
		{name: "wrong aud", text: presentLinkage(t, sd, holder, "urn:epermit:institution:other", lNonce, lProof, two...), code: CodeAudience},
		{name: "wrong nonce", text: presentLinkage(t, sd, holder, lAud, "old-nonce", lProof, two...), code: CodeNonce},
		{name: "wrong sd_hash", text: kb(t, presented, holder, nil, func(c map[string]any) { c["sd_hash"] = credential.SDHash(jwt + "~") }), code: CodeSDHash},
		{name: "disclosure added after binding", text: withDisclosures(tpn, rpn, ds[credential.ClaimName]) + good[len(presented):], code: CodeSDHash},
		{name: "disclosure removed after binding", text: withDisclosures(tpn) + good[len(presented):], code: CodeSDHash},
		{name: "stale KB-JWT", text: good, now: lProof.Add(DefaultLinkageProofWindow + time.Second), code: CodeStaleProof},
		{name: "KB-JWT from the future", text: good, now: lProof.Add(-DefaultSkew - time.Second), code: CodeStaleProof},
		{name: "required claim not disclosed", text: good, required: []string{credential.ClaimName}, code: CodeMissingClaim},
		{name: "required claims disclosed", text: good, required: two, status: fixedStatus("valid"), decision: Accept},
		{name: "revoked", text: good, status: fixedStatus("revoked"), code: CodeRevoked},
		{name: "suspended", text: good, status: fixedStatus("suspended"), code: CodeSuspended},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.now.IsZero() {
				tc.now = lNow
			}
			if tc.keys == nil {
				tc.keys = trust
			}
			if tc.decision == "" {
				tc.decision = Reject
			}
			r := VerifyLinkage(context.Background(), tc.keys, tc.status, tc.text,
				LinkagePolicy{Audience: lAud, Nonce: lNonce, Required: tc.required}, tc.now)
			if r.Decision != tc.decision || r.Code != tc.code {
				t.Fatalf("= %s %s (%s); want %s %s", r.Decision, r.Code, r.Message, tc.decision, tc.code)
			}
			if r.Message == "" && r.Decision != Accept {
				t.Error("no message")
			}
			if !r.Accepted() {
				if r.Claims != nil {
					t.Errorf("claims shown for a rejected proof: %v", r.Claims)
				}
				return
			}
			// Only the disclosed claims, exactly as issued.
			if len(r.Claims) != 2 || r.Claims[credential.ClaimTravelPermitNumber] != "H12345678" ||
				r.Claims[credential.ClaimResidencePermitNumber] != "810000199001010013" {
				t.Errorf("claims %v", r.Claims)
			}
			if r.Credential == nil || r.Credential.StatusIndex != 99 || !r.Credential.ProofAt.Equal(lProof) {
				t.Errorf("credential %+v", r.Credential)
			}
		})
	}
}

// The golden presentation of the credential package verifies here too.
func TestVerifyLinkageGolden(t *testing.T) {
	b, err := readTestdata("../credential/testdata/golden-linkage.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		JWKS         json.RawMessage `json:"jwks"`
		At           time.Time       `json:"at"`
		Aud          string          `json:"aud"`
		Nonce        string          `json:"nonce"`
		Presentation string          `json:"presentation"`
		ExpectClaims map[string]any  `json:"expect_claims"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	trust, err := ParseTrustList(g.JWKS, "golden", g.At)
	if err != nil {
		t.Fatal(err)
	}
	r := VerifyLinkage(context.Background(), trust, fixedStatus("valid"), g.Presentation, LinkagePolicy{Audience: g.Aud, Nonce: g.Nonce}, g.At)
	if r.Decision != Accept || len(r.Claims) != len(g.ExpectClaims) {
		t.Fatalf("%s %s, claims %v", r.Decision, r.Code, r.Claims)
	}
	for k, v := range g.ExpectClaims {
		if r.Claims[k] != v {
			t.Errorf("%s = %v, want %v", k, r.Claims[k], v)
		}
	}
}

func FuzzVerifyLinkage(f *testing.F) {
	issuer, holder := readKey(f, "issuer-key.pem"), readKey(f, "holder-key.pem")
	sd := issueLinkage(f, issuer, linkageClaims(&holder.PublicKey))
	f.Add(presentLinkage(f, sd, holder, lAud, lNonce, lProof, credential.ClaimName))
	f.Add(sd)
	trust := trustOf(f, issuer)
	f.Fuzz(func(t *testing.T, text string) {
		r := VerifyLinkage(context.Background(), trust, fixedStatus("valid"), text, LinkagePolicy{Audience: lAud, Nonce: lNonce}, lNow)
		if r.Accepted() && r.Claims == nil {
			t.Fatal("accepted without claims")
		}
	})
}

func readTestdata(path string) ([]byte, error) { return os.ReadFile(filepath.FromSlash(path)) }
