package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/qrcode"
)

// TestPresent issues at the counter, presents with the holder key and checks
// the EP1 text the way a gate would: parse, issuer signature with the
// authority's key, holder proof, proof time; and the PNG through the QR
// decoder.
func TestPresent(t *testing.T) {
	ctx := context.Background()
	data := newIssuingStore(t)
	dir := t.TempDir()
	issuer := issuerKey(t, data)
	holderPriv, holderPub := holderKeyFiles(t, dir, "holder")
	otherPriv, _ := holderKeyFiles(t, dir, "other")

	// The two forms `issue` produces: base64url on stdout, raw with --out.
	out, err := run(t, ctx, "issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
		"--reason", "forgotten", "--holder-key", holderPub)
	if err != nil {
		t.Fatal(err)
	}
	textCred := filepath.Join(dir, "cred.b64")
	os.WriteFile(textCred, []byte(out), 0o600)
	rawCred := filepath.Join(dir, "cred.cose")
	if _, err := run(t, ctx, "issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
		"--reason", "lost", "--holder-key", holderPub, "--out", rawCred); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(rawCred)
	ep, err := credential.ParseEPermit(raw)
	if err != nil {
		t.Fatal(err)
	}
	at := ep.Claims.NotBefore.Add(time.Hour).Truncate(time.Second)

	for _, c := range []struct{ name, cred string }{{"base64url", textCred}, {"raw COSE", rawCred}} {
		t.Run(c.name, func(t *testing.T) {
			png := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "")+".png")
			out, err := run(t, ctx, "present", "--credential", c.cred, "--holder-key", holderPriv,
				"--at", at.Format(time.RFC3339), "--png", png)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.TrimSpace(out)
			p, err := credential.ParseQR(text)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CheckAlgorithms(); err != nil {
				t.Fatal(err)
			}
			if err := p.VerifyIssuer(&issuer.PublicKey); err != nil {
				t.Fatal(err)
			}
			if err := p.VerifyHolderProof(); err != nil {
				t.Fatal(err)
			}
			if !p.ProofIssuedAt.Equal(at) {
				t.Errorf("proof iat %v, want %v", p.ProofIssuedAt, at)
			}
			if p.Credential.Claims.Permit.DocumentNumber != "H12345678" {
				t.Errorf("document number %q", p.Credential.Claims.Permit.DocumentNumber)
			}
			img, err := os.ReadFile(png)
			if err != nil {
				t.Fatal(err)
			}
			got, err := qrcode.DecodePNG(img)
			if err != nil {
				t.Fatal(err)
			}
			if got != text {
				t.Fatal("the PNG holds another text than the one printed")
			}
			t.Logf("%d characters", len(text))
		})
	}

	// Without --at the proof is made now.
	out, err = run(t, ctx, "present", "--credential", textCred, "--holder-key", holderPriv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := credential.ParseQR(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(p.ProofIssuedAt); d < 0 || d > time.Minute {
		t.Errorf("proof iat %v is not now", p.ProofIssuedAt)
	}

	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a credential!"), 0o600)
	notCOSE := filepath.Join(dir, "not-cose.b64")
	os.WriteFile(notCOSE, []byte(base64.RawURLEncoding.EncodeToString([]byte("hello"))), 0o600)
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name  string
		args  []string
		usage bool // exit 2; otherwise a failure, exit 1
	}{
		{"no credential", []string{"--holder-key", holderPriv}, true},
		{"no holder key", []string{"--credential", textCred}, true},
		{"bad --at", []string{"--credential", textCred, "--holder-key", holderPriv, "--at", "2027-01-01 10:00"}, true},
		{"unknown flag", []string{"--credential", textCred, "--holder-key", holderPriv, "--qr", "x"}, true},
		{"missing credential file", []string{"--credential", missing, "--holder-key", holderPriv}, true},
		{"credential not base64url", []string{"--credential", garbage, "--holder-key", holderPriv}, true},
		{"credential not COSE", []string{"--credential", notCOSE, "--holder-key", holderPriv}, true},
		{"public key as holder key", []string{"--credential", textCred, "--holder-key", holderPub}, true},
		{"another holder's key", []string{"--credential", textCred, "--holder-key", otherPriv}, false},
		{"PNG into a missing directory", []string{"--credential", textCred, "--holder-key", holderPriv,
			"--png", filepath.Join(missing, "qr.png")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, ctx, append([]string{"present"}, c.args...)...)
			if err == nil {
				t.Fatalf("succeeded: %q", out)
			}
			if errors.As(err, new(usageError)) != c.usage {
				t.Errorf("err = %v; usage error expected: %v", err, c.usage)
			}
			if out != "" {
				t.Errorf("printed %q on failure", out)
			}
		})
	}
}

// issuerKey reads the authority's only signing key from the data directory.
func issuerKey(t *testing.T, data string) *ecdsa.PrivateKey {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "keys", "*.pem"))
	if len(files) != 1 {
		t.Fatalf("%d key files", len(files))
	}
	b, _ := os.ReadFile(files[0])
	k, err := keys.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// holderKeyFiles writes a fresh device key pair as PKCS#8 and SPKI PEM and
// returns their paths.
func holderKeyFiles(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv, pub = filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, name+"-pub.pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600)
	return priv, pub
}
