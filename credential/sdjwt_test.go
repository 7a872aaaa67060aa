package credential

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Vectors from the SD-JWT specification. The first is RFC 9901 §4.2.3's
// worked example (the digest is over the base64url text, not the bytes it
// decodes to); the other two are from draft-ietf-oauth-selective-disclosure-jwt-07
// §5, an object property and an array element with the same algorithm.
func TestDisclosureDigestVectors(t *testing.T) {
	tests := []struct {
		name, disclosure, digest string
		salt, claim              string
		value                    any
	}{
		{"RFC 9901 §4.2.3 family_name", "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
			"X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0", "_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"},
		{"draft-07 given_name", "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
			"jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", "2GLC42sKQveCfGfryNRN9w", "given_name", "John"},
		{"draft-07 array element", "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0",
			"w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DisclosureDigest(tc.disclosure); got != tc.digest {
				t.Fatalf("digest %s, want %s", got, tc.digest)
			}
			d, err := ParseDisclosure(tc.disclosure)
			if tc.claim == "" {
				// Array-element disclosures are not part of spec §6.
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("array element disclosure parsed: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Salt != tc.salt || d.Name != tc.claim || d.Value != tc.value || d.Digest() != tc.digest {
				t.Fatalf("decoded %+v", d)
			}
		})
	}
}

func TestParseDisclosureStrict(t *testing.T) {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	salt := "c2FsdHNhbHRzYWx0c2FsdA"
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"good", enc([]any{salt, "name", "陳大文"}), true},
		{"number value", enc([]any{salt, "sex", 1}), true},
		{"padding", enc([]any{salt, "name", "x"}) + "=", false},
		{"standard base64", strings.ReplaceAll(enc([]any{salt, "name", "??>>"}), "_", "/"), false},
		{"two elements", enc([]any{salt, "x"}), false},
		{"four elements", enc([]any{salt, "name", "x", "y"}), false},
		{"salt not a string", enc([]any{1, "name", "x"}), false},
		{"short salt", enc([]any{"abc", "name", "x"}), false},
		{"_sd name", enc([]any{salt, "_sd", "x"}), false},
		{"ellipsis name", enc([]any{salt, "...", "x"}), false},
		{"empty name", enc([]any{salt, "", "x"}), false},
		{"object", enc(map[string]any{"a": 1}), false},
		{"not JSON", base64.RawURLEncoding.EncodeToString([]byte("[salt")), false},
		{"too long", enc([]any{salt, "name", strings.Repeat("x", 2000)}), false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		_, err := ParseDisclosure(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v does not match ErrFormat", tc.name, err)
		}
	}
}

// linkageFixture is a linkage proof from fixed keys and data.
type linkageFixture struct {
	fixture
	claims LinkageClaims
	kid    string
}

func newLinkageFixture(t testing.TB) linkageFixture {
	t.Helper()
	f := linkageFixture{fixture: newFixture(t)}
	f.kid = base64.RawURLEncoding.EncodeToString(f.fixture.kid)
	f.claims = LinkageClaims{
		Issuer: "https://epermit.example", IssuedAt: fixtureIssued, Expiry: fixtureIssued.Add(30 * 24 * time.Hour),
		Holder: &f.holder.PublicKey, Status: StatusRef{Idx: 7781, URI: "https://epermit.example/s/12"},
		Name: "陳大文", LatinName: "CHAN, TAI MAN", BirthDate: "1990-01-01", Sex: SexMale,
		TravelPermitType: "hk", TravelPermitNumber: "H12345678", ResidencePermitNumber: "810000199001010013",
	}
	return f
}

// countingReader yields 0, 1, 2, … so salts are fixed in golden tests.
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

func (f linkageFixture) issue(t testing.TB) string {
	t.Helper()
	s, err := issueLinkage(&countingReader{}, f.claims, f.kid, f.issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLinkageRoundTrip(t *testing.T) {
	f := newLinkageFixture(t)
	sd, err := IssueLinkage(f.claims, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sd, "~"); n != 8 || !strings.HasSuffix(sd, "~") {
		t.Fatalf("issued SD-JWT has %d ~, want 8 and a trailing one", n)
	}
	at := fixtureIssued.Add(time.Hour)
	pres, err := PresentLinkage(sd, []string{ClaimTravelPermitNumber, ClaimResidencePermitNumber}, f.holder, "bank-1", "n-123", at)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSDJWT(pres)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyIssuer(&f.issuer.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckDisclosures(); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyKeyBinding(); err != nil {
		t.Fatal(err)
	}
	if !s.SDHashMatches() {
		t.Fatal("sd_hash does not match")
	}
	switch {
	case s.Typ != TypSDJWT, s.VCT != LinkageVCT, s.Issuer != f.claims.Issuer, !s.IssuedAt.Equal(f.claims.IssuedAt),
		!s.Expiry.Equal(f.claims.Expiry), !s.Holder.Equal(&f.holder.PublicKey), s.Status != f.claims.Status,
		len(s.Digests) != 7, s.SDAlg != "sha-256", s.Kid != f.kid:
		t.Errorf("parsed %+v", s)
	case len(s.Disclosures) != 2 || s.Disclosures[0].Value != "H12345678" || s.Disclosures[1].Value != "810000199001010013":
		t.Errorf("disclosures %+v", s.Disclosures)
	case s.KB.Typ != TypKBJWT || s.KB.Claims.Audience != "bank-1" || s.KB.Claims.Nonce != "n-123" || !s.KB.Claims.IssuedAt.Equal(at):
		t.Errorf("kb %+v", s.KB)
	}
	if err := s.VerifyIssuer(&f.holder.PublicKey); !errors.Is(err, ErrBadSignature) {
		t.Errorf("issuer signature with the wrong key: %v", err)
	}
	if _, err := PresentLinkage(sd, []string{"email"}, f.holder, "a", "n", at); err == nil {
		t.Error("presenting an unknown claim did not fail")
	}
}

// TestLinkageDisclosureChecks covers RFC 9901 §7.1's disclosure rules.
func TestLinkageDisclosureChecks(t *testing.T) {
	f := newLinkageFixture(t)
	sd := f.issue(t)
	parts := strings.Split(strings.TrimSuffix(sd, "~"), "~")
	jwt, ds := parts[0], parts[1:]
	foreign, _ := newDisclosure(&countingReader{n: 99}, ClaimName, "王小明")
	iss, _ := newDisclosure(&countingReader{n: 50}, "iss", "x")
	tests := []struct {
		name string
		ds   []string
		ok   bool
	}{
		{"all seven", ds, true},
		{"none", nil, true},
		{"one", ds[3:4], true},
		{"repeated", []string{ds[0], ds[0]}, false},
		{"not in _sd", []string{foreign.Encoded}, false},
		{"shadows a visible claim", []string{iss.Encoded}, false},
	}
	for _, tc := range tests {
		text := jwt + "~"
		for _, d := range tc.ds {
			text += d + "~"
		}
		s, err := ParseSDJWT(text)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = s.CheckDisclosures()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrDisclosure)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestParseSDJWTRejects(t *testing.T) {
	f := newLinkageFixture(t)
	sd := f.issue(t)
	jwt := sd[:strings.IndexByte(sd, '~')]
	h, p, sig, _ := split3(jwt)
	tests := map[string]string{
		"empty":             "",
		"no tilde":          jwt,
		"two parts":         h + "." + p + "~",
		"bad base64":        h + "." + p + "." + sig + "!~",
		"header not JSON":   "e30x." + p + "." + sig + "~",
		"claims not object": h + "." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + "." + sig + "~",
		"no cnf":            h + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iat":1,"exp":2,"status":{"status_list":{"idx":1,"uri":"u"}}}`)) + "." + sig + "~",
		"crit header":       base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","crit":["x"]}`)) + "." + p + "." + sig + "~",
		"too long":          sd + strings.Repeat("A", MaxSDJWTLen),
		"bad disclosure":    jwt + "~AAAA~",
		"empty disclosure":  jwt + "~~",
		"KB not a JWT":      sd + "abc",
	}
	for name, in := range tests {
		if _, err := ParseSDJWT(in); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want a format error", name, err)
		}
	}
}

// goldenLinkage pins every non-signature part of an issued linkage proof
// and a presentation of it, made from fixed keys, salts and times.
type goldenLinkage struct {
	Description  string          `json:"description"`
	JWKS         json.RawMessage `json:"jwks"`
	At           string          `json:"at"`
	Audience     string          `json:"aud"`
	Nonce        string          `json:"nonce"`
	Disclose     []string        `json:"disclose"`
	Header       string          `json:"issuer_header_b64"`
	Payload      string          `json:"issuer_payload_b64"`
	Disclosures  []string        `json:"disclosures"`
	KBHeader     string          `json:"kb_header_b64"`
	KBPayload    string          `json:"kb_payload_b64"`
	SDHash       string          `json:"sd_hash"`
	Presentation string          `json:"presentation"`
	ExpectClaims map[string]any  `json:"expect_claims"`
}

const goldenLinkageName = "golden-linkage.json"

func TestGoldenLinkage(t *testing.T) {
	f := newLinkageFixture(t)
	sd := f.issue(t)
	at := fixtureIssued.Add(time.Hour)
	disclose := []string{ClaimTravelPermitNumber, ClaimResidencePermitNumber}
	pres, err := PresentLinkage(sd, disclose, f.holder, "urn:epermit:institution:bank-1", "4f7a9c", at)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(pres, "~")
	ih, ip, _, _ := split3(parts[0])
	kh, kp, _, _ := split3(parts[len(parts)-1])
	fresh := goldenLinkage{Header: ih, Payload: ip, Disclosures: strings.Split(strings.TrimSuffix(sd[len(parts[0])+1:], "~"), "~"),
		KBHeader: kh, KBPayload: kp, SDHash: SDHash(pres[:strings.LastIndexByte(pres, '~')+1])}
	path := filepath.Join("testdata", goldenLinkageName)
	if *update {
		jwk, _ := NewJWK(&f.issuer.PublicKey)
		fresh.JWKS, _ = json.Marshal(JWKSet{Keys: []JWK{jwk}})
		fresh.Description = "A linkage proof (spec §6) issued by epermit's encoder from fixed keys (testdata/*-key.pem), " +
			"salts (bytes 0,1,2,… in turn), times and data, and a presentation of two claims. Signatures are " +
			"randomized; every other part is pinned. Verified at `at` with aud and nonce, it must be accepted " +
			"and show exactly expect_claims."
		fresh.At, fresh.Audience, fresh.Nonce, fresh.Disclose = at.Add(10*time.Second).Format(time.RFC3339), "urn:epermit:institution:bank-1", "4f7a9c", disclose
		fresh.Presentation = pres
		fresh.ExpectClaims = map[string]any{ClaimTravelPermitNumber: "H12345678", ClaimResidencePermitNumber: "810000199001010013"}
		b, _ := json.MarshalIndent(fresh, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want goldenLinkage
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	// sd_hash covers the issuer JWT's signature, which changes each run:
	// compare the KB-JWT claims without it, and check the stored one below.
	if fresh.Header != want.Header || fresh.Payload != want.Payload || fresh.KBHeader != want.KBHeader ||
		kbWithoutHash(t, fresh.KBPayload) != kbWithoutHash(t, want.KBPayload) || strings.Join(fresh.Disclosures, "~") != strings.Join(want.Disclosures, "~") {
		t.Fatalf("the encoding changed; if meant, run go test ./credential -run TestGoldenLinkage -update\nfresh: %+v", fresh)
	}
	// The stored presentation (with the signatures made when it was
	// written) still verifies with the stored trust list.
	keys, err := ParseJWKSet(want.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSDJWT(want.Presentation)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyIssuer(keys[s.Kid]); err != nil {
		t.Fatal(err)
	}
	if SDHash(s.Presented) != want.SDHash || s.KB.Claims.SDHash != want.SDHash {
		t.Fatalf("stored sd_hash %s does not cover the stored presentation", want.SDHash)
	}
	if err := s.VerifyKeyBinding(); err != nil || !s.SDHashMatches() || s.CheckDisclosures() != nil {
		t.Fatalf("stored presentation: %v", err)
	}
	// The payload is exactly the JSON of spec §6.
	pb, _ := base64.RawURLEncoding.DecodeString(want.Payload)
	var payload map[string]any
	json.Unmarshal(pb, &payload)
	for _, k := range []string{"iss", "iat", "exp", "vct", "cnf", "status", "_sd_alg", "_sd"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %s", k)
		}
	}
	if len(payload) != 8 || !bytes.Contains(pb, []byte(`"vct":"urn:epermit:vct:permit-linkage:1"`)) {
		t.Errorf("payload %s", pb)
	}
}

// split3 splits a compact JWS into its three parts.
func split3(jws string) (h, p, sig string, ok bool) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// kbWithoutHash is a KB-JWT's claims without sd_hash, as canonical JSON.
func kbWithoutHash(t testing.TB, b64payload string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(b64payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["sd_hash"].(string); !ok {
		t.Fatalf("KB-JWT claims %s have no sd_hash", b)
	}
	delete(m, "sd_hash")
	out, _ := json.Marshal(m)
	return string(out)
}

// A linkage proof of a certified key carries its certificate in x5c
// (HAIP): std base64 DER in the protected header, and it still verifies.
func TestLinkageX5C(t *testing.T) {
	f := newLinkageFixture(t)
	sd, err := IssueLinkageWithChain(f.claims, f.kid, f.issuer, [][]byte{{0x30, 0x03, 0x02, 0x01, 0x07}})
	if err != nil {
		t.Fatal(err)
	}
	hb, err := base64.RawURLEncoding.DecodeString(strings.SplitN(sd, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if x5c, ok := h["x5c"].([]any); !ok || len(x5c) != 1 || x5c[0] != "MAMCAQc=" {
		t.Errorf("header %s: want x5c [\"MAMCAQc=\"]", hb)
	}
	s, err := ParseSDJWT(sd)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyIssuer(&f.issuer.PublicKey); err != nil {
		t.Errorf("a proof with x5c: %v", err)
	}
	sd, _ = IssueLinkage(f.claims, f.kid, f.issuer)
	if hb, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(sd, ".", 2)[0]); strings.Contains(string(hb), "x5c") {
		t.Errorf("header without certificates: %s", hb)
	}
}
