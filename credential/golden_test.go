package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-*.json from the fixture")

// goldenFile is a vector in the shape of spec/vectors/ep1-good.json plus the
// deterministic parts of the encoding. ECDSA signatures are randomized, so
// the test pins every byte that is not a signature and verifies the rest.
type goldenFile struct {
	vectorFile
	CredentialProtectedHex string `json:"credential_protected_hex"`
	KidHex                 string `json:"kid_hex"`
	PayloadHex             string `json:"payload_hex"`
	ProofProtectedHex      string `json:"proof_protected_hex"`
	CredentialLen          int    `json:"credential_len"`
	PresentationLen        int    `json:"presentation_len"`
	TextLen                int    `json:"text_len"`
}

const goldenName = "golden-ep1.json"

func TestGolden(t *testing.T) {
	f := newFixture(t)
	pres := f.present(t)
	text := EncodeQR(pres)
	p, err := ParseQR(text)
	if err != nil {
		t.Fatal(err)
	}
	fresh := goldenParts(p)
	fresh.CredentialLen = len(p.Credential.Raw)
	fresh.PresentationLen = len(pres)
	fresh.TextLen = len(text)
	path := filepath.Join("testdata", goldenName)

	if *update {
		jwk, err := NewJWK(&f.issuer.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := json.Marshal(JWKSet{Keys: []JWK{jwk}})
		at := f.proofAt.Add(10 * time.Second)
		fresh.vectorFile = vectorFile{
			Description: "A valid EP1 presentation made by epermit's own encoder from fixed keys " +
				"(testdata/*-key.pem), times, cti and data. Signatures are randomized; the *_hex " +
				"fields pin every other byte. Verified at `at`, for use `train`, with `jwks`, it " +
				"must be accepted; for `border` refused with `scope`.",
			At: at.Format(time.RFC3339), AtUnix: at.Unix(), Use: "train",
			JWKS: jwks, Text: text, Expect: expectOf(f.claims),
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(fresh); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	// The encoder still produces the pinned bytes.
	for _, c := range []struct{ field, got, want string }{
		{"credential_protected_hex", fresh.CredentialProtectedHex, g.CredentialProtectedHex},
		{"kid_hex", fresh.KidHex, g.KidHex},
		{"payload_hex", fresh.PayloadHex, g.PayloadHex},
		{"proof_protected_hex", fresh.ProofProtectedHex, g.ProofProtectedHex},
	} {
		if c.got != c.want {
			t.Errorf("%s changed:\n got  %s\n want %s", c.field, c.got, c.want)
		}
	}
	if fresh.CredentialLen != g.CredentialLen || fresh.PresentationLen != g.PresentationLen || fresh.TextLen != g.TextLen {
		t.Errorf("lengths changed: got %d/%d/%d, want %d/%d/%d", fresh.CredentialLen, fresh.PresentationLen,
			fresh.TextLen, g.CredentialLen, g.PresentationLen, g.TextLen)
	}
	// The stored text is made of those same bytes (its signatures are
	// checked by TestVectors).
	stored, err := ParseQR(g.Text)
	if err != nil {
		t.Fatal(err)
	}
	if sp := goldenParts(stored); sp.CredentialProtectedHex != g.CredentialProtectedHex ||
		sp.KidHex != g.KidHex || sp.PayloadHex != g.PayloadHex || sp.ProofProtectedHex != g.ProofProtectedHex {
		t.Error("stored text does not hold the pinned bytes")
	}
	if !expectEqual(g.Expect, expectOf(f.claims)) {
		t.Error("stored expect does not match the fixture")
	}
}

func goldenParts(p *Presentation) goldenFile {
	return goldenFile{
		CredentialProtectedHex: hex.EncodeToString(p.Credential.protected),
		KidHex:                 hex.EncodeToString(p.Credential.Kid),
		PayloadHex:             hex.EncodeToString(p.Credential.payload),
		ProofProtectedHex:      hex.EncodeToString(p.proofProtected),
	}
}

func expectOf(c Claims) vectorExpect {
	e := vectorExpect{
		Decision:       "accept",
		DocumentNumber: c.Permit.DocumentNumber,
		DocumentType:   uint(c.Permit.DocumentType),
		Name:           c.Permit.Name,
		LatinName:      c.Permit.LatinName,
		Sex:            uint(c.Permit.Sex),
		BirthDate:      c.Permit.BirthDate,
		Reason:         uint(c.Permit.Reason),
		Issuer:         c.Issuer,
	}
	for _, s := range c.Permit.Scopes {
		e.Scopes = append(e.Scopes, uint(s))
	}
	e.StatusList.Idx, e.StatusList.URI = c.Status.Idx, c.Status.URI
	return e
}

func expectEqual(a, b vectorExpect) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// The spec's own vector is kept in testdata for the tests; the copy must
// not drift from spec/vectors, the file integrators read.
func TestSpecVectorCopy(t *testing.T) {
	spec, err := os.ReadFile("../spec/vectors/ep1-good.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, copy := range []string{"testdata/ep1-good.json", "../verify/testdata/ep1-good.json"} {
		if got, err := os.ReadFile(copy); err != nil || !bytes.Equal(got, spec) {
			t.Errorf("%s differs from spec/vectors/ep1-good.json (%v)", copy, err)
		}
	}
}
