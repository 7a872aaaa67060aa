package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	stdpng "image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/qrcode"
)

func TestVerifyCommand(t *testing.T) {
	testdata := filepath.Join("..", "..", "verify", "testdata")
	trust := filepath.Join(testdata, "trust.json")
	qr, err := os.ReadFile(filepath.Join(testdata, "example-qr.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(qr))
	jwks, err := os.ReadFile(trust)
	if err != nil {
		t.Fatal(err)
	}
	authority := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(jwks)
	}))
	defer authority.Close()
	const at = "2026-12-01T03:00:10Z" // 10 s after the holder made the QR
	png, _, err := qrcode.Render(text)
	if err != nil {
		t.Fatal(err)
	}
	pngFile, blankFile := filepath.Join(t.TempDir(), "qr.png"), filepath.Join(t.TempDir(), "blank.png")
	var blank bytes.Buffer
	stdpng.Encode(&blank, image.NewGray(image.Rect(0, 0, 64, 64)))
	if os.WriteFile(pngFile, png, 0o600) != nil || os.WriteFile(blankFile, blank.Bytes(), 0o600) != nil {
		t.Fatal("cannot write the PNG files")
	}

	tests := []struct {
		name     string
		args     []string
		exit     int // 0, exitFailure or exitUsage
		decision string
		code     string
	}{
		{"accepted with a trust file", []string{"--offline", "--trust", trust, "--at", at, text}, 0, "accept_with_warning", ""},
		{"accepted with the authority's list", []string{"--authority", authority.URL, "--use", "train", "--at", at, text}, 0, "accept_with_warning", ""},
		{"refused for border control", []string{"--offline", "--trust", trust, "--use", "border", "--at", at, text}, exitFailure, "reject", "scope"},
		{"a screenshot two minutes later", []string{"--offline", "--trust", trust, "--at", "2026-12-01T03:02:10Z", text}, exitFailure, "reject", "stale_proof"},
		{"garbage", []string{"--offline", "--trust", trust, "--at", at, "hello"}, exitFailure, "reject", "format"},
		{"from a PNG", []string{"--offline", "--trust", trust, "--at", at, "--png", pngFile}, 0, "accept_with_warning", ""},
		{"a PNG with no QR code", []string{"--offline", "--trust", trust, "--at", at, "--png", blankFile}, exitFailure, "reject", "format"},
		{"text and a PNG", []string{"--offline", "--trust", trust, "--png", pngFile, text}, exitUsage, "", ""},
		{"missing PNG", []string{"--offline", "--trust", trust, "--png", "nonexistent.png"}, exitUsage, "", ""},
		{"no trust list", []string{"--at", at, text}, exitUsage, "", ""},
		{"two trust lists", []string{"--offline", "--trust", trust, "--authority", authority.URL, text}, exitUsage, "", ""},
		{"unknown use", []string{"--offline", "--trust", trust, "--use", "ferry", text}, exitUsage, "", ""},
		{"bad time", []string{"--offline", "--trust", trust, "--at", "yesterday", text}, exitUsage, "", ""},
		{"no text", []string{"--trust", trust}, exitUsage, "", ""},
		{"missing trust file", []string{"--trust", "nonexistent.json", text}, exitUsage, "", ""},
		{"authority unreachable", []string{"--authority", "http://127.0.0.1:1", text}, exitFailure, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, context.Background(), append([]string{"verify"}, tc.args...)...)
			if got := exitCodeOf(err); got != tc.exit {
				t.Fatalf("exit %d (%v); want %d", got, err, tc.exit)
			}
			if tc.decision == "" {
				return
			}
			var r struct {
				Decision string `json:"decision"`
				Code     string `json:"code"`
				Holder   *struct {
					DocumentNumber string `json:"document_number"`
				} `json:"holder"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if r.Decision != tc.decision || r.Code != tc.code {
				t.Errorf("decision %s %s; want %s %s", r.Decision, r.Code, tc.decision, tc.code)
			}
			if (r.Holder != nil) != (tc.exit == 0) || (r.Holder != nil && r.Holder.DocumentNumber != "H12345678") {
				t.Errorf("holder %+v with exit %d", r.Holder, tc.exit)
			}
		})
	}
}

func TestVerifierCommands(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	key, err := run(t, ctx, "verifier", "add", "--data", data, "--name", "Gate 7", "--kind", "railway")
	if err != nil || !strings.HasPrefix(key, "epv_") {
		t.Fatalf("verifier add = %q, %v", key, err)
	}
	if _, err := run(t, ctx, "verifier", "add", "--data", data, "--name", "Gate 7", "--kind", "railway"); exitCodeOf(err) != exitFailure {
		t.Errorf("adding the same name again: %v", err)
	}
	if _, err := run(t, ctx, "verifier", "add", "--data", data, "--name", "Gate 8"); exitCodeOf(err) != exitUsage {
		t.Errorf("add without --kind: %v", err)
	}
	newKey, err := run(t, ctx, "verifier", "rotate-key", "--data", data, "--name", "Gate 7")
	if err != nil || !strings.HasPrefix(newKey, "epv_") || newKey == key {
		t.Fatalf("rotate-key = %q, %v", newKey, err)
	}
	if _, err := run(t, ctx, "verifier", "disable", "--data", data, "--name", "Gate 7"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ctx, "verifier", "list", "--data", data)
	if err != nil || !strings.Contains(out, "Gate 7") || !strings.Contains(out, "disabled") ||
		!strings.Contains(out, newKey[:10]) || strings.Contains(out, strings.TrimSpace(newKey)) {
		t.Errorf("list = %q, %v; want Gate 7, disabled, the key's prefix only", out, err)
	}
}

// `epermit verify` accepts an SM2-signed e-permit with a trust list of both
// suites (spec §1.1) and refuses one whose alg is not its key's.
func TestVerifyCommandSM2(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "vectors-sm2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vf struct {
		JWKS  json.RawMessage `json:"jwks"`
		Cases []struct {
			Name, Text, At string
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trust, vf.JWKS, 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{ // offline: no status list, so a warning at best
		"SM2 valid":                             {"accept_with_warning", ""},
		"SM2 credential claiming ES256":         {"reject", "algorithm"},
		"SM2 signature under a P-256 key's kid": {"reject", "algorithm"},
		"SM2 signature altered":                 {"reject", "bad_signature"},
	}
	seen := 0
	for _, c := range vf.Cases {
		w, ok := want[c.Name]
		if !ok {
			continue
		}
		seen++
		out, _ := run(t, context.Background(), "verify", "--offline", "--trust", trust, "--use", "flight", "--at", c.At, c.Text)
		var r struct{ Decision, Code string }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", c.Name, err, out)
		}
		if r.Decision != w[0] || r.Code != w[1] {
			t.Errorf("%s: %s %s; want %s %s", c.Name, r.Decision, r.Code, w[0], w[1])
		}
	}
	if seen != len(want) {
		t.Fatalf("%d of %d cases found in the vectors", seen, len(want))
	}
}

// `epermit verify --root CERT --trust-list FILE|URL` takes its keys from a
// trust list signed by the root (spec §1.2), from a file or a URL, and
// refuses with the list's code a list the root did not sign or one past its
// exp; with an accepted list it applies the key-use rules (key_revoked,
// key_not_valid). The cases are verify/testdata/trustlist-vectors.json's.
func TestVerifyCommandSignedTrustList(t *testing.T) {
	var vf struct {
		Roots             map[string]string `json:"roots"`
		Lists             map[string]string `json:"lists"`
		PresentationCases []struct {
			Name, Text, At string
			Lists          []string
		} `json:"presentation_cases"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "trustlist-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root, other := file("root.pem", vf.Roots["root"]), file("other.pem", vf.Roots["new-root"])
	lists := map[string]string{}
	for name, l := range vf.Lists {
		lists[name] = file(name+".jwt", l)
	}
	text := map[string]string{}
	var at string
	for _, c := range vf.PresentationCases {
		text[c.Name] = c.Text
		if c.Name == "certified key" {
			at = c.At
		}
	}
	authority := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/epermit-trust-list" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/epermit-trust-list+jwt")
		w.Write([]byte(vf.Lists["L7"]))
	}))
	defer authority.Close()
	signed := func(rootFile, list string) []string {
		return []string{"--offline", "--use", "train", "--at", at, "--root", rootFile, "--trust-list", list}
	}
	tests := []struct {
		name     string
		args     []string
		exit     int
		decision string
		code     string
	}{
		{"a list the root signed, from a file", append(signed(root, lists["L7"]), text["certified key"]), 0, "accept_with_warning", ""},
		{"a list the root signed, from the authority's URL", append(signed(root, authority.URL), text["certified key"]), 0, "accept_with_warning", ""},
		{"the same, the list's own URL", append(signed(root, authority.URL+"/.well-known/epermit-trust-list"), text["certified key"]), 0, "accept_with_warning", ""},
		{"a key the list revokes", append(signed(root, lists["L7"]), text["revoked key"]), exitFailure, "reject", "key_revoked"},
		{"a key past its certificate", append(signed(root, lists["L7"]), text["now after the certificate's validity"]), exitFailure, "reject", "key_not_valid"},
		{"a key signing after its usage period", append(signed(root, lists["L7"]), text["signed after the usage period"]), exitFailure, "reject", "key_not_valid"},
		{"a rotated key the list does not hold", append(signed(root, lists["L7"]), text["rotated key before the new list"]), exitFailure, "reject", "unknown_key"},
		{"a rotated key in a newer list", append(signed(root, lists["L8"]), text["rotated key through the new list"]), 0, "accept_with_warning", ""},
		{"a list by another root", append(signed(root, lists["L8-other-root"]), text["certified key"]), exitFailure, "reject", "trust_list_signature"},
		{"a list under another root than configured", append(signed(other, lists["L7"]), text["certified key"]), exitFailure, "reject", "trust_list_signature"},
		{"a DS certificate of another root", append(signed(root, lists["L8-foreign-ds"]), text["certified key"]), exitFailure, "reject", "trust_list_signature"},
		{"an altered list", append(signed(root, lists["L8-tampered"]), text["certified key"]), exitFailure, "reject", "trust_list_signature"},
		{"not a list", append(signed(root, lists["not-a-list"]), text["certified key"]), exitFailure, "reject", "trust_list_format"},
		{"a list from the future", append(signed(root, lists["L8-future"]), text["certified key"]), exitFailure, "reject", "trust_list_not_yet_valid"},
		{"a list past its exp", []string{"--offline", "--use", "train", "--at", "2026-12-31T01:00:00Z", "--root", root, "--trust-list", lists["L7"], text["certified key"]}, exitFailure, "reject", "trust_list_expired"},
		{"--root alone", []string{"--offline", "--root", root, text["certified key"]}, exitUsage, "", ""},
		{"--trust-list alone", []string{"--offline", "--trust-list", lists["L7"], text["certified key"]}, exitUsage, "", ""},
		{"--root with --trust", []string{"--offline", "--root", root, "--trust-list", lists["L7"], "--trust", lists["L7"], text["certified key"]}, exitUsage, "", ""},
		{"a root file that is no certificate", append(signed(lists["L7"], lists["L7"]), text["certified key"]), exitUsage, "", ""},
		{"a missing list file", append(signed(root, filepath.Join(dir, "none.jwt")), text["certified key"]), exitUsage, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, context.Background(), append([]string{"verify"}, tc.args...)...)
			if got := exitCodeOf(err); got != tc.exit {
				t.Fatalf("exit %d (%v); want %d\n%s", got, err, tc.exit, out)
			}
			if tc.decision == "" {
				return
			}
			var r struct{ Decision, Code string }
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if r.Decision != tc.decision || r.Code != tc.code {
				t.Errorf("decision %s %s; want %s %s", r.Decision, r.Code, tc.decision, tc.code)
			}
		})
	}
}
