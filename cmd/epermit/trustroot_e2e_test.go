package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/web"
)

// opensslCommand returns the openssl command; without it the test skips,
// except under CI (CI=true), which must run the independent check.
func opensslCommand(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs openssl for the independent certificate check: %v", err)
		}
		t.Skipf("no openssl here (%v): the independent certificate check did not run", err)
	}
	return path
}

// opensslVerify has OpenSSL, which shares no code with epermit, check that
// the DS certificate in dsFile chains to the root in rootFile (for SM2
// with the default distinguishing ID), at a time inside its validity.
func opensslVerify(t *testing.T, openssl, rootFile, dsFile string) (string, error) {
	t.Helper()
	ds, err := pki.ParseCertificate(must(pki.DecodePEM(must(os.ReadFile(dsFile)), pki.PEMCertificate)))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "-attime", strconv.FormatInt(ds.NotBefore.Add(time.Hour).Unix(), 10), "-CAfile", rootFile}
	if ds.SignatureAlg == "SM2" {
		args = append(args, "-vfyopt", "distid:1234567812345678")
	}
	out, err := exec.Command(openssl, append(args, dsFile)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The root ceremony of docs/keys.md, run with the CLI as an authority
// would, reaches a gate: `root init` on the offline side, `keys csr`,
// `root sign`, `keys certify`, `trust-list request`, `root sign-list`,
// `trust-list import` on the serving side; OpenSSL accepts every
// document-signer certificate the flow produces under the exported root
// (and refuses it under another root); `epermit verify --root root.pem
// --trust-list URL` accepts an e-permit the server issued and refuses the
// list under another root; a key rotated under the root (pending, its
// request, certified, a new list, activated) reaches the gate through the
// new signed list, while a gate still holding the old list answers
// unknown_key. For ES256 and for SM2 (root and issuer key).
func TestRootCeremonyReachesTheGate(t *testing.T) {
	openssl := opensslCommand(t)
	for _, alg := range []string{"es256", "sm2"} {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			data, work := newStore(t), t.TempDir()
			path := func(name string) string { return filepath.Join(work, name) }
			example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")
			step := func(args ...string) string {
				t.Helper()
				out, err := run(t, ctx, args...)
				if err != nil {
					t.Fatalf("epermit %s: %v", strings.Join(args, " "), err)
				}
				return out
			}
			step("keys", "init", "--algorithm", alg, "--data", data)
			step("registry", "import", example, "--data", data)
			kid := strings.Fields(strings.Split(step("keys", "list", "--data", data), "\n")[1])[0]

			// The offline side makes the root; the serving side its request.
			step("root", "init", "--dir", path("root"), "--name", "Test epermit root", "--algorithm", alg)
			step("root", "init", "--dir", path("other"), "--name", "Test epermit root", "--algorithm", alg)
			if err := os.WriteFile(path("root.pem"), []byte(step("root", "export", "--dir", path("root"))), 0o644); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path("other.pem"), []byte(step("root", "export", "--dir", path("other"))), 0o644)
			step("keys", "csr", "--kid", kid, "--data", data, "--out", path("key1.csr"))
			step("root", "sign", "--dir", path("root"), "--csr", path("key1.csr"), "--out", path("key1.pem"))
			step("keys", "certify", "--kid", kid, "--cert", path("key1.pem"), "--root", path("root.pem"), "--data", data)
			publish := func(list string) {
				t.Helper()
				step("trust-list", "request", "--data", data, "--out", path(list+".req"))
				step("root", "sign-list", "--dir", path("root"), "--request", path(list+".req"), "--out", path(list))
				step("trust-list", "import", path(list), "--data", data)
			}
			publish("list1.jwt")

			// OpenSSL: the DS certificate chains to the exported root, and
			// not to another root of the same name.
			if out, err := opensslVerify(t, openssl, path("root.pem"), path("key1.pem")); err != nil || !strings.HasSuffix(out, ": OK") {
				t.Fatalf("openssl verify -CAfile root.pem key1.pem: %v\n%s", err, out)
			} else {
				t.Logf("openssl: %s", out)
			}
			if out, err := opensslVerify(t, openssl, path("other.pem"), path("key1.pem")); err == nil {
				t.Fatalf("openssl accepted the DS certificate under another root:\n%s", out)
			}

			// The server on the same data publishes the list; a gate takes it
			// by URL under the root.
			srv := httptest.NewUnstartedServer(nil)
			url := "http://" + srv.Listener.Addr().String()
			g := &globals{data: data, publicURL: url, logFormat: "text", logLevel: "error"}
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

			priv, pub := holderKeyFiles(t, t.TempDir(), "holder")
			scan := 0
			epermit := func(name string) string {
				t.Helper()
				cred := path(name + ".cose")
				step("issue", "--data", data, "--public-url", url, "--document-type", "hk", "--document-number", "H12345678",
					"--reason", "lost", "--holder-key", pub, "--out", cred)
				scan++
				return strings.TrimSpace(step("present", "--credential", cred, "--holder-key", priv,
					"--at", time.Now().Add(time.Duration(scan)*time.Second).UTC().Format(time.RFC3339)))
			}
			gate := func(root, list, text string) (string, string) {
				t.Helper()
				out, _ := run(t, ctx, "verify", "--root", root, "--trust-list", list, "--use", "train",
					"--at", time.Now().Add(time.Duration(scan)*time.Second+2*time.Second).UTC().Format(time.RFC3339), text)
				var r struct{ Decision, Code string }
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("verify printed %q: %v", out, err)
				}
				return r.Decision, r.Code
			}
			first := epermit("first")
			if d, c := gate(path("root.pem"), url, first); d != "accept" {
				t.Fatalf("the gate with the authority's list under the root: %s %s; want accept", d, c)
			}
			if d, c := gate(path("other.pem"), url, first); d != "reject" || c != "trust_list_signature" {
				t.Errorf("the gate under another root: %s %s; want reject trust_list_signature", d, c)
			}

			// A linkage proof of the certified key carries its DS certificate
			// in x5c, and an institution configured with the root accepts it.
			step("linkage", "issue", "--data", data, "--public-url", url, "--document-type", "hk", "--document-number", "H20000037",
				"--holder-key", pub, "--out", path("linkage.sdjwt"))
			sd, err := credential.ParseSDJWT(strings.TrimSpace(string(must(os.ReadFile(path("linkage.sdjwt"))))))
			if err != nil || len(sd.X5C) != 1 || sd.X5C[0] != base64.StdEncoding.EncodeToString(must(pki.DecodePEM(must(os.ReadFile(path("key1.pem"))), pki.PEMCertificate))) {
				t.Fatalf("the linkage proof's x5c: %v, %v; want the key's DS certificate", len(sd.X5C), err)
			}
			pres := strings.TrimSpace(step("linkage", "present", "--credential", path("linkage.sdjwt"), "--holder-key", priv,
				"--aud", "bank-1", "--nonce", "n-1", "--disclose", "travel_permit_number"))
			for _, c := range []struct{ root, decision, code string }{
				{path("root.pem"), "accept", ""}, {path("other.pem"), "reject", "trust_list_signature"},
			} {
				out, _ := run(t, ctx, "linkage", "verify", "--aud", "bank-1", "--nonce", "n-1", "--root", c.root, "--trust-list", url, pres)
				var r struct{ Decision, Code string }
				if err := json.Unmarshal([]byte(out), &r); err != nil || r.Decision != c.decision || r.Code != c.code {
					t.Errorf("linkage verify under %s: %s %s (%v); want %s %s", filepath.Base(c.root), r.Decision, r.Code, err, c.decision, c.code)
				}
			}

			// A rotated key: pending with its request, certified, listed,
			// activated; it reaches the gate through the new list.
			out := step("keys", "rotate", "--data", data, "--csr-out", path("key2.csr"))
			if !strings.HasPrefix(out, "pending key ") {
				t.Fatalf("keys rotate under a root: %q; want a pending key", out)
			}
			kid2 := strings.Fields(out)[2]
			step("root", "sign", "--dir", path("root"), "--csr", path("key2.csr"), "--out", path("key2.pem"))
			step("keys", "certify", "--kid", kid2, "--cert", path("key2.pem"), "--data", data)
			publish("list2.jwt")
			step("keys", "activate", "--kid", kid2, "--data", data)
			if out, err := opensslVerify(t, openssl, path("root.pem"), path("key2.pem")); err != nil || !strings.HasSuffix(out, ": OK") {
				t.Fatalf("openssl verify -CAfile root.pem key2.pem: %v\n%s", err, out)
			}
			second := epermit("second")
			if d, c := gate(path("root.pem"), path("list1.jwt"), second); d != "reject" || c != "unknown_key" {
				t.Errorf("a gate still holding the first list, the rotated key's e-permit: %s %s; want reject unknown_key", d, c)
			}
			for _, list := range []string{path("list2.jwt"), url} {
				if d, c := gate(path("root.pem"), list, second); d != "accept" {
					t.Errorf("the gate with the new list (%s), the rotated key's e-permit: %s %s; want accept", list, d, c)
				}
			}
		})
	}
}
