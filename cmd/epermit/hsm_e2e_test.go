//go:build pkcs11

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/keys/pkcs11/softhsm"
	"github.com/epermit/epermit/internal/store"
)

// With the issuer key in a SoftHSM2 token, through the commands alone:
// `epermit init --kms pkcs11:…` then `epermit serve`; e-permits and linkage
// proofs are signed in the token, the server publishes the key and status
// lists signed with it, a gate (`epermit verify --authority`) accepts;
// `keys rotate` makes the next key in the token and `keys revoke`
// withdraws the first.
func TestHSMThroughTheCommands(t *testing.T) {
	tok := softhsm.New(t, "epermit")
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")

	// The server's address must be known to init, which records the URLs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr

	out, err := run(t, ctx, "init", "--data", data, "--kms", tok.URI(), "--public-url", url, "--admin", "Chief")
	if err != nil || !strings.Contains(out, "(pkcs11:token=epermit;object=epermit-issuer;id=") || !strings.Contains(out, "never leaves it") {
		t.Fatalf("init = %q, %v", out, err)
	}
	var adminKey string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "epo_") {
			adminKey = f
		}
	}
	if _, err := run(t, ctx, "registry", "import", example, "--data", data); err != nil {
		t.Fatal(err)
	}

	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		root := newRoot(&globals{})
		// Ready needs a way to send codes; this test sends none.
		root.SetArgs([]string{"serve", "--data", data, "--addr", addr, "--log-level", "error", "--sms-url", "http://127.0.0.1:9/sms"})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		done <- root.ExecuteContext(srvCtx)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i == 100 {
			t.Fatalf("serve did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	keysList := func() [][]string {
		t.Helper()
		out, err := run(t, ctx, "keys", "list", "--data", data)
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			rows = append(rows, strings.Fields(line))
		}
		return rows
	}
	first := keysList()[0][0]

	now := time.Now().UTC().Truncate(time.Second)
	holderPriv, holderPub := holderKeyFiles(t, dir, "holder")
	issue := func(number string) string {
		t.Helper()
		cred := filepath.Join(dir, number+".cose")
		if _, err := run(t, ctx, "issue", "--data", data, "--document-type", "hk", "--document-number", number,
			"--reason", "lost", "--holder-key", holderPub, "--out", cred); err != nil {
			t.Fatal(err)
		}
		text, err := run(t, ctx, "present", "--credential", cred, "--holder-key", holderPriv, "--at", now.Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(text)
	}
	// gate verifies as a fresh gate: the trust list and status list from the server.
	gate := func(text, wantDecision, wantCode string) {
		t.Helper()
		out, _ := run(t, ctx, "verify", "--authority", url, "--use", "train", "--at", now.Add(5*time.Second).Format(time.RFC3339), text)
		var r struct {
			Decision string `json:"decision"`
			Code     string `json:"code"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Decision != wantDecision || r.Code != wantCode {
			t.Fatalf("verify: %q (%v); want %s %s", out, err, wantDecision, wantCode)
		}
	}
	kidOf := func(text string) string {
		t.Helper()
		p, err := credential.ParseQR(text)
		if err != nil {
			t.Fatal(err)
		}
		return p.Credential.KidText()
	}

	text1 := issue("H12345678")
	if kidOf(text1) != first {
		t.Fatalf("e-permit signed by %s, want the token key %s", kidOf(text1), first)
	}
	gate(text1, "accept", "")

	// A linkage proof signed in the token, checked with the server's trust list.
	lcred := filepath.Join(dir, "linkage.sdjwt")
	if _, err := run(t, ctx, "linkage", "issue", "--data", data, "--document-type", "hk", "--document-number", "H20000037",
		"--holder-key", holderPub, "--out", lcred); err != nil {
		t.Fatal(err)
	}
	pres, err := run(t, ctx, "linkage", "present", "--credential", lcred, "--holder-key", holderPriv, "--aud", "bank-1",
		"--nonce", "n-1", "--disclose", "travel_permit_number", "--at", now.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	out, err = run(t, ctx, "linkage", "verify", "--authority", url, "--aud", "bank-1", "--nonce", "n-1",
		"--at", now.Add(time.Second).Format(time.RFC3339), strings.TrimSpace(pres))
	if err != nil || !strings.Contains(out, `"decision": "accept"`) {
		t.Fatalf("linkage verify = %q, %v", out, err)
	}

	// Rotation makes the next key in the token (where init said).
	if out, err := run(t, ctx, "keys", "rotate", "--data", data); err != nil || !strings.Contains(out, "(pkcs11:token=epermit;") {
		t.Fatalf("keys rotate = %q, %v", out, err)
	}
	// Keys made in the same second list in either order.
	rows, second := keysList(), ""
	for _, r := range rows {
		switch {
		case r[0] == first && r[1] == "retired":
		case r[0] != first && r[1] == "active" && strings.HasPrefix(r[7], "pkcs11:token=epermit;"):
			second = r[0]
		default:
			t.Fatalf("keys after rotation: %v", rows)
		}
	}
	if len(rows) != 2 || second == "" {
		t.Fatalf("keys after rotation: %v", rows)
	}
	text2 := issue("H12345678") // supersedes the first
	if kidOf(text2) != second {
		t.Fatalf("after rotation signed by %s, want %s", kidOf(text2), second)
	}
	gate(text2, "accept", "")

	// The first key leaks: out of the trust list, and what it signed revoked.
	out, err = run(t, ctx, "keys", "revoke", "--kid="+first, "--data", data, "--reason", "test")
	if err != nil || !strings.Contains(out, "key "+first+" revoked and out of the trust list") {
		t.Fatalf("keys revoke = %q, %v", out, err)
	}
	// The server, another process, signs its lists again once its cached
	// list version is that old: a token of the revoked key is no use.
	time.Sleep(store.StatusVersionFresh)
	gate(text1, "reject", "unknown_key")
	gate(text2, "accept", "")

	// The admin officer init made revokes through the server's API; the
	// server re-signs the status list in the token, and the gate sees it.
	p, err := credential.ParseQR(text2)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", url+"/api/v1/credentials/"+hex.EncodeToString(p.Credential.Claims.ID[:])+"/revoke",
		strings.NewReader(`{"reason": "test"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke with the admin key from init: %s", resp.Status)
	}
	gate(text2, "reject", "revoked")

	// --kms moves where keys are made, and later rotations follow it.
	for _, step := range []struct{ args []string }{{[]string{"--kms", "file:"}}, {nil}} {
		out, err := run(t, ctx, append([]string{"keys", "rotate", "--data", data}, step.args...)...)
		if err != nil || !strings.Contains(out, "(file:keys/") {
			t.Fatalf("keys rotate %v = %q, %v; want a key file", step.args, out, err)
		}
	}
	if out, err := run(t, ctx, "settings", "--data", data); err != nil || !strings.Contains(out, "key store    file:") {
		t.Fatalf("settings = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "audit", "verify", "--data", data); err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify = %q, %v", out, err)
	}
}
