package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

// Counter issuance → present two claims → verify as an institution, and
// the institution commands that come with clientCmd.
func TestLinkageCommands(t *testing.T) {
	ctx := context.Background()
	data, dir := newIssuingStore(t), t.TempDir()
	holderPriv, holderPub := holderKeyFiles(t, dir, "holder")
	otherPriv, _ := holderKeyFiles(t, dir, "other")
	cred := filepath.Join(dir, "linkage.sdjwt")
	// H20000037's permits run to 2029, so this test keeps working for years.
	if _, err := run(t, ctx, "linkage", "issue", "--data", data, "--document-type", "hk", "--document-number", "H20000037",
		"--holder-key", holderPub, "--out", cred); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "linkage", "issue", "--data", data, "--document-type", "hk", "--document-number", "H99999999",
		"--holder-key", holderPub); exitCodeOf(err) != exitFailure {
		t.Errorf("unknown permit: %v", err)
	}
	trust := filepath.Join(dir, "trust.json")
	jwk, _ := credential.NewJWK(&issuerKey(t, data).PublicKey)
	b, _ := json.Marshal(credential.JWKSet{Keys: []credential.JWK{jwk}})
	os.WriteFile(trust, b, 0o600)

	at := time.Now().Truncate(time.Second)
	pres, err := run(t, ctx, "linkage", "present", "--credential", cred, "--holder-key", holderPriv, "--aud", "bank-1",
		"--nonce", "n-1", "--disclose", "travel_permit_number,residence_permit_number", "--at", at.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	pres = strings.TrimSpace(pres)
	presFile := filepath.Join(dir, "pres.txt")
	os.WriteFile(presFile, []byte(pres+"\n"), 0o600)

	usage := []struct {
		name string
		args []string
	}{
		{"present without --aud", []string{"linkage", "present", "--credential", cred, "--holder-key", holderPriv, "--nonce", "n", "--disclose", "name"}},
		{"present an unknown claim", []string{"linkage", "present", "--credential", cred, "--holder-key", holderPriv, "--aud", "a", "--nonce", "n", "--disclose", "email"}},
		{"issue without a key", []string{"linkage", "issue", "--data", data, "--document-type", "hk", "--document-number", "H20000037"}},
		{"verify without --nonce", []string{"linkage", "verify", "--aud", "bank-1", "--trust", trust, pres}},
		{"verify with no trust list", []string{"linkage", "verify", "--aud", "bank-1", "--nonce", "n-1", pres}},
	}
	for _, tc := range usage {
		if _, err := run(t, ctx, tc.args...); exitCodeOf(err) != exitUsage {
			t.Errorf("%s: exit %d (%v), want usage", tc.name, exitCodeOf(err), err)
		}
	}
	if _, err := run(t, ctx, "linkage", "present", "--credential", cred, "--holder-key", otherPriv, "--aud", "a", "--nonce", "n", "--disclose", "name"); exitCodeOf(err) != exitFailure {
		t.Errorf("presenting with another key: %v", err)
	}

	tests := []struct {
		name     string
		args     []string
		exit     int
		decision string
		code     string
	}{
		{"accepted (text)", []string{"--aud", "bank-1", "--nonce", "n-1", "--trust", trust, pres}, 0, "accept_with_warning", ""},
		{"accepted (file)", []string{"--aud", "bank-1", "--nonce", "n-1", "--trust", trust, "--require", "residence_permit_number", presFile}, 0, "accept_with_warning", ""},
		{"other institution", []string{"--aud", "bank-2", "--nonce", "n-1", "--trust", trust, pres}, exitFailure, "reject", "aud"},
		{"other nonce", []string{"--aud", "bank-1", "--nonce", "n-2", "--trust", trust, pres}, exitFailure, "reject", "nonce"},
		{"required claim missing", []string{"--aud", "bank-1", "--nonce", "n-1", "--trust", trust, "--require", "name", pres}, exitFailure, "reject", "missing_claim"},
		{"stale", []string{"--aud", "bank-1", "--nonce", "n-1", "--trust", trust, "--at", at.Add(10 * time.Minute).Format(time.RFC3339), pres}, exitFailure, "reject", "stale_proof"},
	}
	for _, tc := range tests {
		out, err := run(t, ctx, append([]string{"linkage", "verify"}, tc.args...)...)
		if got := exitCodeOf(err); got != tc.exit {
			t.Fatalf("%s: exit %d (%v); want %d", tc.name, got, err, tc.exit)
		}
		var r struct {
			Decision string         `json:"decision"`
			Code     string         `json:"code"`
			Claims   map[string]any `json:"claims"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", tc.name, err, out)
		}
		if r.Decision != tc.decision || r.Code != tc.code {
			t.Errorf("%s: %s %s; want %s %s", tc.name, r.Decision, r.Code, tc.decision, tc.code)
		}
		if tc.exit == 0 && (len(r.Claims) != 2 || r.Claims["travel_permit_number"] != "H20000037" || r.Claims["residence_permit_number"] != "810000194711114450") {
			t.Errorf("%s: claims %v", tc.name, r.Claims)
		}
	}

	// Institutions: the generic client commands with institution kinds.
	key, err := run(t, ctx, "institution", "add", "--data", data, "--name", "Bank A", "--kind", "bank")
	if err != nil || !strings.HasPrefix(key, "epi_") {
		t.Fatalf("institution add = %q, %v", key, err)
	}
	if _, err := run(t, ctx, "institution", "add", "--data", data, "--name", "Bank B", "--kind", "airline"); exitCodeOf(err) != exitFailure {
		t.Errorf("an institution of kind airline: %v", err)
	}
	if _, err := run(t, ctx, "institution", "disable", "--data", data, "--name", "Bank A"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, "institution", "list", "--data", data); err != nil || !strings.Contains(out, "Bank A") || !strings.Contains(out, "disabled") {
		t.Errorf("list = %q, %v", out, err)
	}
	if _, err := run(t, ctx, "linkage", "lookup", "--data", data, "LC-AAAAAAAAAAAAAAAAAAAA"); exitCodeOf(err) != exitFailure {
		t.Errorf("lookup of an unknown reference: %v", err)
	}
}
