package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// certifyUnderRoot puts a's active key under a new ES256 root as the
// ceremony of docs/keys.md does (the key's request, the root's DS
// certificate, the first certify recording the root, a signed list
// imported) and returns the root.
func certifyUnderRoot(t *testing.T, a *authority.Authority) *pki.Certificate {
	t.Helper()
	ctx := authority.WithActor(context.Background(), "test")
	rootKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	now := time.Now()
	root := must(pki.ParseCertificate(must(pki.NewRoot(rootKey, "Test epermit root", now.Add(-time.Hour), now.Add(20*365*24*time.Hour)))))
	ks := must(a.Keys(ctx))
	var kid string
	for _, k := range ks {
		if k.State == permit.KeyActive {
			kid = k.Kid
		}
	}
	csr := must(pki.ParseCSR(must(a.KeyCSR(ctx, kid, authority.DefaultSigningPeriod))))
	ds := must(pki.IssueDocumentSigner(root, rootKey, csr, csr.UsageNotAfter.Add(authority.LinkageValidity)))
	must(a.CertifyKey(ctx, kid, ds, root.Raw, nil))
	req := must(a.RequestTrustList(ctx))
	claims := pki.TrustListClaims{Issuer: req.Issuer, Seq: 1, IssuedAt: now, Expiry: now.Add(30 * 24 * time.Hour)}
	for _, c := range req.Certificates {
		claims.Certificates = append(claims.Certificates, must(base64.StdEncoding.DecodeString(c)))
	}
	list := must(pki.SignTrustList(claims, root, rootKey, nil))
	if _, _, err := a.ImportTrustList(ctx, []byte(list), nil); err != nil {
		t.Fatal(err)
	}
	return root
}

type x5cResult struct {
	Valid       bool   `json:"valid"`
	Error       string `json:"error"`
	Iss         string `json:"iss"`
	LeafSubject string `json:"leaf_subject"`
	Chain       int    `json:"chain"`
}

// TestInteropLinkageX5C: an independent SD-JWT VC verifier, Credo
// (@credo-ts/core, pinned in testdata/interop/package-lock.json), resolves
// the issuer key of a linkage proof the OpenID4VCI library received from
// its x5c chain to the authority's root (HAIP), and verifies the
// credential with it; under another root it finds no trusted certificate,
// and with the issuer signature altered the proof fails.
func TestInteropLinkageX5C(t *testing.T) {
	dir := interopDir(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, a, outbox := interopServer(t, db)
		root := certifyUnderRoot(t, a)
		lp := issueWithLibrary(t, dir, a, outbox, permit.LinkageProofKind, true)
		sd := must(credential.ParseSDJWT(lp.Credential))
		if sd.VCT != credential.LinkageVCT {
			t.Fatalf("linkage proof vct %q", sd.VCT)
		}
		files := t.TempDir()
		rootFile, otherFile := filepath.Join(files, "root.pem"), filepath.Join(files, "other.pem")
		os.WriteFile(rootFile, pki.EncodePEM(pki.PEMCertificate, root.Raw), 0o600)
		otherKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		os.WriteFile(otherFile, pki.EncodePEM(pki.PEMCertificate,
			must(pki.NewRoot(otherKey, "Test epermit root", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))), 0o600)

		var got x5cResult
		node(t, dir, &got, "x5c.mjs", lp.Credential, rootFile)
		if !got.Valid || got.Chain != 1 || !strings.Contains(got.LeafSubject, "epermit issuer key") {
			t.Fatalf("Credo under the authority's root: %+v; want valid, the DS certificate in x5c", got)
		}
		t.Logf("Credo resolved the issuer key from x5c (%s) to the root and verified the linkage proof of %s", got.LeafSubject, got.Iss)

		var other x5cResult
		node(t, dir, &other, "x5c.mjs", lp.Credential, otherFile)
		if other.Valid || !strings.Contains(other.Error, "trusted certificate") {
			t.Errorf("Credo under another root: %+v; want no trusted certificate", other)
		}
		// The issuer signature with one byte changed.
		parts := strings.SplitN(lp.Credential, "~", 2)
		jws := strings.Split(parts[0], ".")
		sig := []byte(jws[2])
		if sig[10] == 'A' {
			sig[10] = 'B'
		} else {
			sig[10] = 'A'
		}
		var tampered x5cResult
		node(t, dir, &tampered, "x5c.mjs", jws[0]+"."+jws[1]+"."+string(sig)+"~"+parts[1], rootFile)
		if tampered.Valid {
			t.Errorf("Credo accepted the linkage proof with its signature altered: %+v", tampered)
		}
	})
}
