package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectorFile is testdata/vectors.json: one presentation per spec §4 outcome,
// made with the fixed keys in testdata, for any implementation to run.
type vectorFile struct {
	Description string          `json:"description"`
	JWKS        json.RawMessage `json:"jwks"`
	Cases       []vectorCase    `json:"cases"`
}

type vectorCase struct {
	Name string    `json:"name"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	Use  Use       `json:"use"`
	// Scans is how many times the text is verified in a row (default 1);
	// the expectation is for the last.
	Scans int `json:"scans,omitempty"`
	// StatusList is the status list token (CWT form, base64url) served at
	// the credential's status URI; empty when none can be had.
	StatusList string   `json:"status_list,omitempty"`
	Decision   Decision `json:"decision"`
	Code       Code     `json:"code,omitempty"`
	Warnings   []Code   `json:"warnings,omitempty"`
}

const vectorsDescription = "EP1 presentations for each outcome of spec/formats.md §4. " +
	"Verify `text` at `at` for `use` with `jwks` as the trust list, `scans` times in a row (default 1), " +
	"with `status_list` (a CWT status list token, base64url) served at the credential's status URI " +
	"(none to be had when absent); the last verification must give " +
	"`decision`, `code` and `warnings`. Default proof window 60 s, skew 5 min."

// The fixture: issued 2026-12-01 02:00 UTC for 7 days; the holder's device
// makes the QR an hour later and the gate scans it 10 s after that.
var (
	vIssued = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	vProof  = vIssued.Add(time.Hour)
	vScan   = vProof.Add(10 * time.Second)
)

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	codes := runVectors(t, readVectors(t))
	for _, c := range []Code{CodeFormat, CodeUnknownKey, CodeAlgorithm, CodeBadSignature, CodeNotYetValid, CodeExpired,
		CodeBadHolderProof, CodeStaleProof, CodeReplayed, CodeScope, CodeRevoked, CodeSuspended} {
		if !codes[c] {
			t.Errorf("no vector gives %s", c)
		}
	}
}

// runVectors runs every case of a vector file and returns the codes seen.
func runVectors(t *testing.T, vf vectorFile) map[Code]bool {
	t.Helper()
	trust, err := ParseTrustList(vf.JWKS, "vectors", vScan)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[Code]bool{}
	for _, c := range vf.Cases {
		t.Run(c.Name, func(t *testing.T) {
			v := New(trust, servedStatus(t, trust, c.StatusList), Policy{Use: c.Use})
			var r *Result
			for range max(c.Scans, 1) {
				r = v.Verify(context.Background(), c.Text, c.At)
			}
			if r.Decision != c.Decision || r.Code != c.Code || !equalCodes(r.Warnings, c.Warnings) {
				t.Fatalf("Verify = %s %q %v; want %s %q %v", r.Decision, r.Code, r.Warnings, c.Decision, c.Code, c.Warnings)
			}
			if r.Accepted() != (r.Holder != nil) {
				t.Errorf("holder data %v with decision %s; want it exactly when accepted", r.Holder, r.Decision)
			}
			if r.Code != "" && r.Message == "" {
				t.Errorf("code %s has no message", r.Code)
			}
		})
		codes[c.Code] = true
		for _, w := range c.Warnings {
			codes[w] = true
		}
	}
	return codes
}

// servedStatus is a status cache whose every fetch gets the token (base64url)
// or, for "", a 503.
func servedStatus(t *testing.T, trust *TrustList, token string) *StatusCache {
	t.Helper()
	body, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		if token == "" {
			rec.WriteHeader(http.StatusServiceUnavailable)
		} else {
			rec.Header().Set("Content-Type", credential.StatusListCWTType)
			rec.Write(body)
		}
		return rec.Result(), nil
	})
	return NewStatusCache(trust, StatusCacheOptions{Client: &http.Client{Transport: rt}})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fixedStatus is a status source whose every list says the same.
type fixedStatus string

func (s fixedStatus) Status(context.Context, string, uint64, time.Time) (StatusValue, time.Duration, error) {
	switch s {
	case "valid":
		return StatusValid, time.Minute, nil
	case "revoked":
		return StatusRevoked, time.Minute, nil
	case "suspended":
		return StatusSuspended, time.Minute, nil
	}
	return 0, 0, errStatusTest
}

var errStatusTest = errors.New("status list unavailable")

func equalCodes(a, b []Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readVectors(t *testing.T) vectorFile { return readVectorsF(t) }

func readVectorsF(t testing.TB) vectorFile { return readVectorFile(t, "vectors.json") }

func readVectorFile(t testing.TB, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

func readKey(t testing.TB, name string) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

// fixtureClaims is a realistic e-permit for the holder key.
func fixtureClaims(holder *ecdsa.PublicKey) credential.Claims {
	return credential.Claims{
		Issuer:    "CN-NIA",
		IssuedAt:  vIssued,
		NotBefore: vIssued,
		Expiry:    vIssued.Add(7 * 24 * time.Hour),
		ID:        [16]byte{0x3c, 0x1f, 0x77, 0x02, 0x9a, 0x41, 0xd5, 0xe8, 0x10, 0x6b, 0x2e, 0xc4, 0x58, 0x93, 0xaf, 0x61},
		Holder:    holder,
		Status:    credential.StatusRef{Idx: 4711, URI: "https://epermit.example/s/1"},
		Permit: credential.Permit{
			Kind:           credential.KindTemporaryEPermit,
			DocumentType:   credential.DocHomeReturnPermitHK,
			DocumentNumber: "H12345678",
			Name:           "陳大文",
			LatinName:      "CHAN, TAI MAN",
			Sex:            credential.SexMale,
			BirthDate:      "1990-01-01",
			Scopes:         []credential.Scope{credential.ScopeFlight, credential.ScopeTrain},
			PortraitDigest: credential.PortraitDigest([]byte("portrait")),
			Reason:         credential.ReasonLost,
		},
	}
}

func sign(t testing.TB, c credential.Claims, issuer crypto.Signer) []byte {
	t.Helper()
	kid, err := credential.KeyID(issuer.Public().(*ecdsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	b, err := credential.SignEPermit(c, kid, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func present(t testing.TB, cred []byte, holder *ecdsa.PrivateKey, at time.Time) string {
	t.Helper()
	p, err := credential.Present(cred, holder, at)
	if err != nil {
		t.Fatal(err)
	}
	return credential.EncodeQR(p)
}

// writeVectors makes every case from the fixture keys. ECDSA signatures
// are randomized, so the file changes on each run: regenerate only when a
// case is added or the format changes.
func writeVectors(t *testing.T) {
	issuer, holder, other := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem"), readKey(t, "other-key.pem")
	jwk, err := credential.NewJWK(&issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(credential.JWKSet{Keys: []credential.JWK{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	claims := fixtureClaims(&holder.PublicKey)
	cred := sign(t, claims, issuer)
	good := present(t, cred, holder, vProof)

	// The credential signed by a key the trust list does not have.
	rogue := present(t, sign(t, claims, other), holder, vProof)
	// The same credential claiming ES384 in its protected header
	// ({1: -35} instead of {1: -7}); the signature is left as it was.
	es384 := present(t, bytes.Replace(cred, []byte{0x43, 0xa1, 0x01, 0x26}, []byte{0x44, 0xa1, 0x01, 0x38, 0x22}, 1), holder, vProof)
	// One bit of the issuer signature flipped.
	flipped := bytes.Clone(cred)
	flipped[len(flipped)-1] ^= 1
	badSig := present(t, flipped, holder, vProof)
	// A proof made by another device: credential.Present refuses that, so
	// the proof is taken from a credential for the other key.
	otherClaims := claims
	otherClaims.Holder = &other.PublicKey
	wrongProof := swapProof(t, good, present(t, sign(t, otherClaims, issuer), other, vProof))
	trainOnly := claims
	trainOnly.Permit.Scopes = []credential.Scope{credential.ScopeTrain}

	// The credential's status list, signed ten minutes before the scan, as
	// it says valid, revoked and suspended; and as altered or signed by a
	// key the trust list lacks, which must give status_unknown.
	lists := map[string]string{}
	for name, v := range map[string]credential.StatusValue{"valid": 0, "revoked": 1, "suspended": 2, "altered": 1, "rogue": 1} {
		l, err := credential.NewStatusList(16384)
		if err != nil {
			t.Fatal(err)
		}
		l.Set(claims.Status.Idx, v)
		key := issuer
		if name == "rogue" {
			key = other
		}
		kid, _ := credential.KeyID(&key.PublicKey)
		tok, err := credential.SignStatusListCWT(credential.StatusListClaims{Subject: claims.Status.URI,
			IssuedAt: vScan.Add(-10 * time.Minute), Expiry: vScan.Add(24 * time.Hour), TTL: 5 * time.Minute, List: l}, nil, kid, key)
		if err != nil {
			t.Fatal(err)
		}
		if name == "altered" {
			tok[len(tok)-1] ^= 1
		}
		lists[name] = base64.RawURLEncoding.EncodeToString(tok)
	}

	cases := []vectorCase{
		{Name: "valid", Text: good, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Accept},
		{Name: "valid for trains", Text: good, At: vScan, Use: UseTrain, StatusList: lists["valid"], Decision: Accept},
		{Name: "status list unavailable", Text: good, At: vScan, Use: UseFlight, Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "wrong prefix", Text: "EP2:" + strings.TrimPrefix(good, "EP1:"), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeFormat},
		{Name: "stray base45 character", Text: good[:40] + "a" + good[41:], At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeFormat},
		{Name: "base45 triplet over 65535", Text: "EP1:GGW", At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeFormat},
		{Name: "not CBOR", Text: credential.EncodeQR([]byte{0x82, 0x41}), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeFormat},
		{Name: "unknown key", Text: rogue, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeUnknownKey},
		{Name: "ES384 in the credential", Text: es384, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeAlgorithm},
		{Name: "issuer signature altered", Text: badSig, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeBadSignature},
		{Name: "before nbf minus skew", Text: good, At: vIssued.Add(-5*time.Minute - time.Second), Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeNotYetValid},
		{Name: "at exp plus skew", Text: good, At: claims.Expiry.Add(5 * time.Minute), Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeExpired},
		{Name: "proof by another device", Text: wrongProof, At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeBadHolderProof},
		{Name: "proof 61 s old", Text: good, At: vProof.Add(61 * time.Second), Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeStaleProof},
		{Name: "proof 61 s ahead", Text: good, At: vProof.Add(-61 * time.Second), Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeStaleProof},
		{Name: "scanned twice", Text: good, At: vScan, Use: UseFlight, Scans: 2, StatusList: lists["valid"], Decision: Reject, Code: CodeReplayed},
		{Name: "border use", Text: good, At: vScan, Use: UseBorder, StatusList: lists["valid"], Decision: Reject, Code: CodeScope},
		{Name: "train-only permit at a flight gate", Text: present(t, sign(t, trainOnly, issuer), holder, vProof), At: vScan, Use: UseFlight, StatusList: lists["valid"], Decision: Reject, Code: CodeScope},
		{Name: "revoked", Text: good, At: vScan, Use: UseFlight, StatusList: lists["revoked"], Decision: Reject, Code: CodeRevoked},
		{Name: "suspended", Text: good, At: vScan, Use: UseFlight, StatusList: lists["suspended"], Decision: Reject, Code: CodeSuspended},
		{Name: "status list altered", Text: good, At: vScan, Use: UseFlight, StatusList: lists["altered"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
		{Name: "status list by an untrusted key", Text: good, At: vScan, Use: UseFlight, StatusList: lists["rogue"], Decision: AcceptWithWarning, Warnings: []Code{WarnStatusUnknown}},
	}
	out, err := json.MarshalIndent(vectorFile{Description: vectorsDescription, JWKS: jwks, Cases: cases}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	// The runnable example reads the trust list and the valid QR text.
	files := map[string][]byte{"vectors.json": append(out, '\n'), "trust.json": append(jwks, '\n'), "example-qr.txt": []byte(good + "\n")}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// swapProof returns the QR text of p's credential with q's proof.
func swapProof(t *testing.T, p, q string) string {
	t.Helper()
	// Both presentations are [bstr credential, bstr proof] with their
	// credential bytes inside; the proof is everything after them.
	split := func(text string) (head, proof []byte) {
		raw, err := credential.DecodeBase45(strings.TrimPrefix(text, credential.QRPrefix))
		if err != nil {
			t.Fatal(err)
		}
		pr, err := credential.ParsePresentation(raw)
		if err != nil {
			t.Fatal(err)
		}
		end := bytes.Index(raw, pr.Credential.Raw) + len(pr.Credential.Raw)
		return raw[:end], raw[end:]
	}
	head, _ := split(p)
	_, proof := split(q)
	return credential.EncodeQR(append(bytes.Clone(head), proof...))
}
