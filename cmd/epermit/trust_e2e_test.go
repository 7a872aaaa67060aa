package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/web"
	"github.com/epermit/epermit/verify"
)

// The ceremony of docs/keys.md through the commands, against the store a
// running server uses: an offline root certifies the issuer key, signs a
// trust list the server publishes, and a gate configured with the root
// accepts it; a rotated key reaches the gate through a new list before it
// signs; a revoked key is in the next list's revoked; an older list is
// refused on import; and past its usage period the key stops signing,
// which /readyz says.
func TestRootOfTrustCeremony(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	work := t.TempDir()
	rootDir := filepath.Join(work, "root")
	file := func(name string) string { return filepath.Join(work, name) }
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")

	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	cli := func(args ...string) string {
		t.Helper()
		out, err := run(t, ctx, append(args, "--data", data, "--public-url", url)...)
		if err != nil {
			t.Fatalf("epermit %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	rootCLI := func(args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil {
			t.Fatalf("epermit %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	kidOf := func(out, prefix string) string {
		t.Helper()
		rest, ok := strings.CutPrefix(out, prefix)
		if !ok {
			t.Fatalf("output %q does not start with %q", out, prefix)
		}
		return strings.Fields(rest)[0]
	}

	kid1 := kidOf(cli("keys", "init"), "active key ")
	cli("registry", "import", example)

	// The root, offline: its certificate is what gates are configured with.
	rootCLI("root", "init", "--dir", rootDir, "--name", "Test epermit root")
	rootPEM := rootCLI("root", "export", "--dir", rootDir)
	if err := os.WriteFile(file("root.pem"), []byte(rootPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := verify.LoadRoot(file("root.pem"))
	if err != nil {
		t.Fatal(err)
	}

	// CSR out, certificate in; the first certificate records the root.
	cli("keys", "csr", "--kid", kid1, "--out", file("k1.csr"))
	rootCLI("root", "sign", "--dir", rootDir, "--csr", file("k1.csr"), "--out", file("k1.pem"))
	if _, err := run(t, ctx, "keys", "certify", "--kid", kid1, "--cert", file("k1.pem"), "--data", data, "--public-url", url); err == nil {
		t.Fatal("the first certify without --root worked")
	}
	cli("keys", "certify", "--kid", kid1, "--cert", file("k1.pem"), "--root", file("root.pem"))
	signList := func(n string) {
		t.Helper()
		cli("trust-list", "request", "--out", file("req"+n+".json"))
		rootCLI("root", "sign-list", "--dir", rootDir, "--request", file("req"+n+".json"), "--out", file("list"+n+".jwt"))
		cli("trust-list", "import", file("list"+n+".jwt"))
	}
	signList("1")

	// The server publishes the list and the root.
	// An SMS gateway configured (never called), so that readiness is down
	// to the key alone.
	g := &globals{data: data, publicURL: url, logFormat: "text", logLevel: "error", smsURL: "http://127.0.0.1:9/sms"}
	if err := g.setup(&strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	a, closeStore, err := g.authority(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	srv.Config.Handler = web.New(a, slog.New(slog.DiscardHandler), web.Options{RateLimit: 1000, RateBurst: 1000})
	srv.Start()
	defer srv.Close()
	get := func(path string, wantType string) []byte {
		t.Helper()
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != wantType {
			t.Fatalf("GET %s: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		return body
	}
	if got := get("/.well-known/epermit-root.pem", "application/x-pem-file"); !bytes.Equal(got, []byte(rootPEM)) {
		t.Errorf("served root:\n%s\nwant\n%s", got, rootPEM)
	}
	gateList := func(held *verify.TrustList) *verify.TrustList {
		t.Helper()
		l, err := verify.ParseSignedTrustList(get("/.well-known/epermit-trust-list", pki.TrustListMediaType), root, held, url, time.Now())
		if err != nil {
			t.Fatalf("the gate refuses the served list: %v", err)
		}
		return l
	}
	list1 := gateList(nil)
	if list1.Seq() != 1 {
		t.Errorf("first list: seq %d", list1.Seq())
	}
	if _, code := list1.KeyFor(kid1, time.Now(), time.Now(), verify.DefaultSkew); code != "" {
		t.Errorf("key %s in the first list: %s", kid1, code)
	}

	// Credentials verify with the list: issued now, presented now.
	holderPriv, holderPub := holderKeyFiles(t, work, "holder")
	issue := func(number string) string {
		t.Helper()
		cred := file(number + ".cose")
		cli("issue", "--document-type", "hk", "--document-number", number, "--reason", "lost", "--holder-key", holderPub, "--out", cred)
		return cred
	}
	gate := func(list *verify.TrustList, cred, wantKid string) verify.Code {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Second)
		text, err := run(t, ctx, "present", "--credential", cred, "--holder-key", holderPriv, "--at", now.Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		r := verify.New(list, nil, verify.Policy{Use: verify.UseTrain}).Verify(ctx, strings.TrimSpace(text), now)
		if r.Credential != nil && r.Credential.Kid != wantKid {
			t.Errorf("credential signed by %s, want %s", r.Credential.Kid, wantKid)
		}
		return r.Code
	}
	cred1 := issue("H12345678")
	if code := gate(list1, cred1, kid1); code != "" {
		t.Errorf("an e-permit of the certified key under the first list: %s", code)
	}

	// Rotation under a root: a pending key and its request; it signs only
	// once certified, listed and activated.
	out := cli("keys", "rotate", "--csr-out", file("k2.csr"))
	kid2 := kidOf(out, "pending key ")
	rootCLI("root", "sign", "--dir", rootDir, "--csr", file("k2.csr"), "--out", file("k2.pem"))
	cli("keys", "certify", "--kid", kid2, "--cert", file("k2.pem"))
	if _, err := run(t, ctx, "keys", "activate", "--kid", kid2, "--data", data, "--public-url", url); err == nil {
		t.Fatal("a key not in the imported list was activated")
	}
	if code := gate(list1, issue("H20000037"), kid1); code != "" { // the old key signs on meanwhile
		t.Errorf("before activation: %s", code)
	}
	signList("2")
	cli("keys", "activate", "--kid", kid2)
	list2 := gateList(list1)
	if list2.Seq() != 2 {
		t.Errorf("second list: seq %d", list2.Seq())
	}
	cred2 := issue("H20000074")
	if code := gate(list2, cred2, kid2); code != "" {
		t.Errorf("an e-permit of the rotated key under the new list: %s", code)
	}
	if code := gate(list1, cred2, kid2); code != verify.CodeUnknownKey {
		t.Errorf("an e-permit of the rotated key under the old list: %q, want unknown_key", code)
	}
	if _, code := list2.KeyFor(kid1, time.Now(), time.Now(), verify.DefaultSkew); code != "" {
		t.Errorf("the retired key in the second list: %s", code)
	}

	// A revoked key is in the next list's revoked.
	cli("keys", "revoke", "--kid", kid1, "--reason", "leaked in a test")
	signList("3")
	list3 := gateList(list2)
	if _, code := list3.KeyFor(kid1, time.Now(), time.Now(), verify.DefaultSkew); code != verify.CodeKeyRevoked {
		t.Errorf("the revoked key in the third list: %q, want key_revoked", code)
	}
	parsed, err := pki.ParseTrustList(list3.Document())
	if err != nil || len(parsed.Revoked) != 1 || parsed.Revoked[0].Kid != kid1 || len(parsed.Keys) != 1 || parsed.Keys[0].JWK.Kid != kid2 {
		t.Errorf("third list: %+v, %v", parsed, err)
	}

	// An older list is a rollback; the same list again changes nothing.
	if _, err := run(t, ctx, "trust-list", "import", file("list2.jwt"), "--data", data, "--public-url", url); err == nil {
		t.Error("an older list was imported")
	}
	if out := cli("trust-list", "import", file("list3.jwt")); !strings.Contains(out, "imported already") {
		t.Errorf("importing the newest list again: %q", out)
	}

	// Past its usage period the key signs nothing, and /readyz says why.
	if res, err := http.Get(url + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz in the usage period: %v %v", res, err)
	}
	a.SetClock(func() time.Time { return time.Now().Add(authority91Days) })
	res, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "stopped signing") {
		t.Errorf("/readyz after the usage period: %d %s", res.StatusCode, body)
	}
}

// authority91Days is past the default signing period of 90 days.
const authority91Days = 91 * 24 * time.Hour
