//go:build pkcs11

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/keys/pkcs11/softhsm"
	"github.com/epermit/epermit/verify"
)

// The root's key in a SoftHSM2 token (docs/keys.md: the root may live in an
// HSM like issuer keys): `root init --kms pkcs11:…` keeps no key file, and
// the certificates it signs there (`root sign`), and the trust list
// (`root sign-list`), check under the exported root certificate, by
// OpenSSL as well as by epermit.
func TestRootInHSM(t *testing.T) {
	tok := softhsm.New(t, "epermit-root")
	ctx := context.Background()
	data, work := newStore(t), t.TempDir()
	rootDir := filepath.Join(work, "root")
	file := func(name string) string { return filepath.Join(work, name) }
	cli := func(args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil {
			t.Fatalf("epermit %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	cli("root", "init", "--dir", rootDir, "--kms", tok.URI(), "--name", "HSM root")
	keyFiles, _ := filepath.Glob(filepath.Join(rootDir, "keys", "*"))
	if len(keyFiles) != 0 {
		t.Fatalf("a root in the token left key files: %v", keyFiles)
	}
	rootPEM := cli("root", "export", "--dir", rootDir)
	if err := os.WriteFile(file("root.pem"), []byte(rootPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := verify.LoadRoot(file("root.pem"))
	if err != nil {
		t.Fatal(err)
	}

	kid := strings.Fields(strings.TrimPrefix(cli("keys", "init", "--data", data, "--public-url", "https://epermit.example"), "active key "))[0]
	cli("keys", "csr", "--kid="+kid, "--data", data, "--out", file("key.csr"), "--public-url", "https://epermit.example")
	cli("root", "sign", "--dir", rootDir, "--csr", file("key.csr"), "--out", file("key.crt"))
	ds, err := pki.ParseCertificate(must(pki.DecodePEM(must(os.ReadFile(file("key.crt"))), pki.PEMCertificate)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.CheckSignatureFrom(root); err != nil {
		t.Fatalf("certificate signed in the token: %v", err)
	}
	if out, err := opensslVerify(t, opensslCommand(t), file("root.pem"), file("key.crt")); err != nil {
		t.Fatalf("openssl verify: %s: %v", out, err)
	}

	cli("keys", "certify", "--kid="+kid, "--cert", file("key.crt"), "--root", file("root.pem"), "--data", data, "--public-url", "https://epermit.example")
	cli("trust-list", "request", "--data", data, "--out", file("request.json"), "--public-url", "https://epermit.example")
	cli("root", "sign-list", "--dir", rootDir, "--request", file("request.json"), "--out", file("list.jwt"))
	list, err := verify.ParseSignedTrustList(must(os.ReadFile(file("list.jwt"))), root, nil, "list.jwt", ds.NotBefore.Add(1))
	if err != nil {
		t.Fatalf("a list signed in the token: %v", err)
	}
	if _, ok := list.Key(kid); !ok || list.Seq() != 1 {
		t.Fatalf("list seq %d, key %s listed %v", list.Seq(), kid, ok)
	}
}
