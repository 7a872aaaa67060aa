package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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

	// A linkage proof of the certified key carries its certificate in x5c
	// (HAIP), chaining to the root, and verifies under the signed list.
	proof := file("linkage.sdjwt")
	cli("linkage", "issue", "--document-type", "hk", "--document-number", "H20000037", "--holder-key", holderPub, "--out", proof)
	sd, err := os.ReadFile(proof)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(string(sd), ".", 2)[0])
	var header struct {
		Kid string   `json:"kid"`
		X5C []string `json:"x5c"`
	}
	if err := json.Unmarshal(hb, &header); err != nil || header.Kid != kid2 || len(header.X5C) != 1 {
		t.Fatalf("linkage proof header %s: %v", hb, err)
	}
	ds, err := base64.StdEncoding.DecodeString(header.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	if c, err := pki.ParseCertificate(ds); err != nil || c.KeyID != kid2 || c.CheckSignatureFrom(root) != nil {
		t.Errorf("x5c of the linkage proof: %+v, %v; want kid2's certificate from the root", c, err)
	}
	now := time.Now().Truncate(time.Second)
	pres, err := run(t, ctx, "linkage", "present", "--credential", proof, "--holder-key", holderPriv, "--aud", "bank-1",
		"--nonce", "n-1", "--disclose", "travel_permit_number", "--at", now.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	lr := verify.VerifyLinkage(ctx, list2, nil, strings.TrimSpace(pres), verify.LinkagePolicy{Audience: "bank-1", Nonce: "n-1",
		Required: []string{"travel_permit_number"}}, now)
	if !lr.Accepted() {
		t.Errorf("the linkage proof under the signed list: %+v", lr)
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

	// Root rollover: a new root cross-certified by the old; the key is
	// certified anew by it, and its first list, carrying the cross
	// certificate, reaches a gate that holds the old root's list, which
	// takes on the new root; the next list, without the cross certificate,
	// is accepted by that gate and refused by one that only knows the old
	// root.
	root2Dir := filepath.Join(work, "root2")
	rootCLI("root", "rollover", "--dir", rootDir, "--new", root2Dir, "--name", "Test epermit root 2")
	cli("keys", "csr", "--kid", kid2, "--out", file("k2b.csr"))
	rootCLI("root", "sign", "--dir", root2Dir, "--csr", file("k2b.csr"), "--out", file("k2b.pem"))
	if _, err := run(t, ctx, "keys", "certify", "--kid", kid2, "--cert", file("k2b.pem"), "--data", data, "--public-url", url); err == nil {
		t.Fatal("a certificate from the new root was taken without its cross certificate")
	}
	cli("keys", "certify", "--kid", kid2, "--cert", file("k2b.pem"), "--cross", filepath.Join(root2Dir, "cross.pem"))
	cli("trust-list", "request", "--out", file("req4.json"))
	rootCLI("root", "sign-list", "--dir", root2Dir, "--request", file("req4.json"), "--out", file("list4.jwt"))
	cli("trust-list", "import", file("list4.jwt"), "--root", filepath.Join(root2Dir, "root.pem"))
	list4 := gateList(list3)
	root2, err := verify.LoadRoot(filepath.Join(root2Dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if list4.Seq() != 4 || list4.Root().KeyID != root2.KeyID {
		t.Errorf("the new root's first list: seq %d, anchor %s; want 4 and %s", list4.Seq(), list4.Root().KeyID, root2.KeyID)
	}
	if _, code := list4.KeyFor(kid2, time.Now(), time.Now(), verify.DefaultSkew); code != "" {
		t.Errorf("key %s under the new root: %s", kid2, code)
	}
	if got := get("/.well-known/epermit-root.pem", "application/x-pem-file"); !bytes.Equal(got, pki.EncodePEM(pki.PEMCertificate, root2.Raw)) {
		t.Errorf("served root after the rollover:\n%s", got)
	}
	cli("trust-list", "request", "--out", file("req5.json"))
	rootCLI("root", "sign-list", "--dir", root2Dir, "--request", file("req5.json"), "--without-cross", "--out", file("list5.jwt"))
	cli("trust-list", "import", file("list5.jwt"))
	if l := gateList(list4); l.Seq() != 5 {
		t.Errorf("the list after the rollover: seq %d", l.Seq())
	}
	doc5, _ := os.ReadFile(file("list5.jwt"))
	var tle *verify.TrustListError
	if _, err := verify.ParseSignedTrustList(bytes.TrimSpace(doc5), root, nil, "list5", time.Now()); !errors.As(err, &tle) || tle.Code != verify.CodeTrustListSignature {
		t.Errorf("the new root's list without the cross certificate at a gate knowing only the old root: %v", err)
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

// An SM2 root certifies an SM2 issuer key through the same commands, and
// the store takes its list.
func TestRootOfTrustSM2(t *testing.T) {
	ctx := context.Background()
	data, work := newStore(t), t.TempDir()
	rootDir := filepath.Join(work, "root")
	step := func(args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil {
			t.Fatalf("epermit %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	out := step("keys", "init", "--algorithm", "sm2", "--data", data)
	kid := strings.Fields(strings.TrimPrefix(out, "active key "))[0]
	step("root", "init", "--dir", rootDir, "--name", "Test SM2 root", "--algorithm", "sm2")
	step("keys", "csr", "--kid", kid, "--out", filepath.Join(work, "k.csr"), "--data", data)
	step("root", "sign", "--dir", rootDir, "--csr", filepath.Join(work, "k.csr"), "--out", filepath.Join(work, "k.pem"))
	step("keys", "certify", "--kid", kid, "--cert", filepath.Join(work, "k.pem"), "--root", filepath.Join(rootDir, "root.pem"), "--data", data)
	step("trust-list", "request", "--out", filepath.Join(work, "req.json"), "--data", data)
	step("root", "sign-list", "--dir", rootDir, "--request", filepath.Join(work, "req.json"), "--out", filepath.Join(work, "list.jwt"))
	step("trust-list", "import", filepath.Join(work, "list.jwt"), "--data", data)
	root, err := verify.LoadRoot(filepath.Join(rootDir, "root.pem"))
	if err != nil || root.Alg != "SM2" {
		t.Fatalf("root: %+v, %v", root, err)
	}
	doc, _ := os.ReadFile(filepath.Join(work, "list.jwt"))
	l, err := verify.ParseSignedTrustList(bytes.TrimSpace(doc), root, nil, "list.jwt", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, code := l.KeyFor(kid, time.Now(), time.Now(), verify.DefaultSkew); code != "" {
		t.Errorf("the SM2 key under the SM2 root's list: %s", code)
	}
}
