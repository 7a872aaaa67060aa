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

// With the policy file's two switches on, the counter issues the
// long-lived electronic permit with the border scope, and `verify --use
// border` accepts it; under today's rules neither happens, and a policy
// file that widens without its switch stops the command.
func TestPolicySwitches(t *testing.T) {
	ctx := context.Background()
	data, dir := newIssuingStore(t), t.TempDir()
	policies := filepath.Join("..", "..", "permit", "testdata", "policy")
	both := filepath.Join(policies, "both.json")
	holderPriv, holderPub := holderKeyFiles(t, dir, "holder")
	issue := func(extra ...string) (string, error) {
		return run(t, ctx, append([]string{"issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
			"--holder-key", holderPub}, extra...)...)
	}
	for _, tc := range []struct {
		args []string
		exit int
	}{
		{[]string{"--kind", "electronic"}, exitFailure}, // today's rules: kind_disabled
		{[]string{"--kind", "electronic", "--policy", filepath.Join(policies, "electronic-without-switch.json")}, exitUsage},
		{[]string{"--kind", "electronic", "--policy", filepath.Join(policies, "border-without-switch.json")}, exitUsage},
		{[]string{"--reason", "lost", "--policy", filepath.Join(policies, "wider-temporary.json")}, exitUsage},
		{[]string{"--reason", "lost", "--policy", "nonexistent.json"}, exitUsage},
		{[]string{"--kind", "electronic", "--reason", "lost", "--policy", both}, exitUsage},
		{[]string{"--kind", "temporary", "--policy", both}, exitUsage}, // no reason
		{[]string{"--kind", "ferry", "--policy", both}, exitUsage},
	} {
		if _, err := issue(tc.args...); exitCodeOf(err) != tc.exit {
			t.Errorf("issue %v: exit %d (%v); want %d", tc.args, exitCodeOf(err), err, tc.exit)
		}
	}

	electronic, err := issue("--kind", "electronic", "--policy", both, "--out", filepath.Join(dir, "electronic.cose"))
	if err != nil {
		t.Fatal(electronic, err)
	}
	if _, err := issue("--reason", "lost", "--policy", both, "--out", filepath.Join(dir, "temporary.cose")); err != nil {
		t.Fatal(err)
	}
	issuer := issuerKey(t, data)
	jwk, _ := credential.NewJWK(&issuer.PublicKey)
	set, _ := json.Marshal(credential.JWKSet{Keys: []credential.JWK{jwk}})
	trust := filepath.Join(dir, "trust.json")
	os.WriteFile(trust, set, 0o600)

	for _, tc := range []struct {
		cred, use, decision, code string
	}{
		{"electronic.cose", "border", "accept_with_warning", ""},
		{"electronic.cose", "train", "accept_with_warning", ""},
		{"temporary.cose", "border", "reject", "scope"},
		{"temporary.cose", "flight", "accept_with_warning", ""},
	} {
		raw, _ := os.ReadFile(filepath.Join(dir, tc.cred))
		ep, err := credential.ParseEPermit(raw)
		if err != nil {
			t.Fatal(err)
		}
		at := ep.Claims.NotBefore.Add(time.Hour).Truncate(time.Second).Format(time.RFC3339)
		out, err := run(t, ctx, "present", "--credential", filepath.Join(dir, tc.cred), "--holder-key", holderPriv, "--at", at)
		if err != nil {
			t.Fatal(err)
		}
		out, _ = run(t, ctx, "verify", "--offline", "--trust", trust, "--use", tc.use, "--at", at, strings.TrimSpace(out))
		var r struct{ Decision, Code string }
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", tc.cred, err, out)
		}
		if r.Decision != tc.decision || r.Code != tc.code {
			t.Errorf("verify --use %s of %s = %s %s; want %s %s", tc.use, tc.cred, r.Decision, r.Code, tc.decision, tc.code)
		}
	}
	// The change of policy is in the audit log once serve records it; the
	// counter's issuance names the kind.
	out, err := run(t, ctx, "audit", "list", "--data", data, "--action", "credential.issue", "--json")
	if err != nil || !strings.Contains(out, `"kind":2`) {
		t.Errorf("audit list of issues = %q, %v; want an electronic permit (kind 2)", out, err)
	}
}
