package verify

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
)

// signedTrustOf is a list signed by a fresh root, accepted at at, holding
// DS certificates (usage [from, to], valid 30 days longer) for the keys.
func signedTrustOf(t *testing.T, at, from, to time.Time, revoked []pki.RevokedKey, keys ...*ecdsa.PrivateKey) *TrustList {
	t.Helper()
	r := makeRoot(t, newKey(t), from.AddDate(-1, 0, 0))
	var certs [][]byte
	for _, k := range keys {
		certs = append(certs, certify(t, r, k, from, to, to.AddDate(0, 0, 30)))
	}
	l, err := ParseSignedTrustList([]byte(signTrustList(t, r, 1, at.Add(-time.Hour), at.AddDate(0, 0, 30), certs, revoked, nil)),
		r.cert, nil, "test", at)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestKeyFor(t *testing.T) {
	key, revokedKey := newKey(t), newKey(t)
	at := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	from, to := at.AddDate(0, 0, -10), at.AddDate(0, 0, 80)
	l := signedTrustOf(t, at, from, to, []pki.RevokedKey{{Kid: kidOf(t, revokedKey), RevokedAt: at.Add(-time.Hour)}}, key, revokedKey)
	kid, skew := kidOf(t, key), DefaultSkew
	cert, _ := l.Certificate(kid)
	for _, tc := range []struct {
		name    string
		kid     string
		iat     time.Time
		now     time.Time
		want    Code
		wantKey bool
	}{
		{"in use", kid, at, at, "", true},
		{"iat not known yet", kid, time.Time{}, at, "", true},
		{"revoked, though listed", kidOf(t, revokedKey), at, at, CodeKeyRevoked, false},
		{"unknown", "AAAAAAAAAAA", at, at, CodeUnknownKey, false},
		{"iat at usage start − skew", kid, from.Add(-skew), at, "", true},
		{"iat before usage start − skew", kid, from.Add(-skew - time.Second), at, CodeKeyNotValid, false},
		{"iat at usage end + skew", kid, to.Add(skew), at, "", true},
		{"iat after usage end + skew", kid, to.Add(skew + time.Second), at, CodeKeyNotValid, false},
		{"now at notBefore − skew", kid, time.Time{}, cert.NotBefore.Add(-skew), "", true},
		{"now before notBefore − skew", kid, time.Time{}, cert.NotBefore.Add(-skew - time.Second), CodeKeyNotValid, false},
		{"now just before the list's exp + skew", kid, at, l.Expiry().Add(skew - time.Second), "", true},
		{"now at the list's exp + skew", kid, at, l.Expiry().Add(skew), CodeTrustListExpired, false},
	} {
		k, code := l.KeyFor(tc.kid, tc.iat, tc.now, skew)
		if code != tc.want || (k != nil) != tc.wantKey {
			t.Errorf("%s: key %v code %q, want %q", tc.name, k != nil, code, tc.want)
		}
	}
	if _, ok := l.Key(kidOf(t, revokedKey)); ok {
		t.Error("Key returns a revoked key")
	}
	// A plain JWK Set keeps its old behaviour through the same lookup.
	plain := trustOf(t, key)
	if k, code := LookupKey(plain, kid, from.AddDate(-5, 0, 0), at.AddDate(5, 0, 0), skew); k == nil || code != "" {
		t.Errorf("JWK Set lookup: %q", code)
	}
	if _, code := LookupKey(plain, "AAAAAAAAAAA", at, at, skew); code != CodeUnknownKey {
		t.Errorf("JWK Set lookup of an absent kid: %q", code)
	}
}

func TestParseRoot(t *testing.T) {
	r := makeRoot(t, newKey(t), t0)
	if _, err := ParseRoot(pki.EncodePEM(pki.PEMCertificate, r.cert.Raw)); err != nil {
		t.Fatalf("PEM: %v", err)
	}
	if _, err := ParseRoot(r.cert.Raw); err != nil {
		t.Fatalf("DER: %v", err)
	}
	ds := certify(t, r, newKey(t), t0, t0.AddDate(0, 0, 90), t0.AddDate(0, 0, 120))
	if _, err := ParseRoot(ds); err == nil {
		t.Fatal("a DS certificate taken as root")
	}
	other := makeRoot(t, newKey(t), t0)
	cross, _ := pki.NewCrossCertificate(other.cert, other.key, r.cert, t0.AddDate(1, 0, 0))
	if _, err := ParseRoot(cross); err == nil {
		t.Fatal("a cross certificate taken as root")
	}
	path := filepath.Join(t.TempDir(), "root.pem")
	os.WriteFile(path, pki.EncodePEM(pki.PEMCertificate, r.cert.Raw), 0o600)
	if c, err := LoadRoot(path); err != nil || c.KeyID != r.cert.KeyID {
		t.Fatalf("LoadRoot: %v", err)
	}
}

// The updater keeps the last good list: a rollback, a list of another root
// and garbage leave it in place; a newer list replaces it. It reads files
// and URLs alike.
func TestSignedTrustUpdater(t *testing.T) {
	now := time.Now()
	r, other := makeRoot(t, newKey(t), now.AddDate(-1, 0, 0)), makeRoot(t, newKey(t), now.AddDate(-1, 0, 0))
	k1, k2 := newKey(t), newKey(t)
	from, to := now.AddDate(0, 0, -1), now.AddDate(0, 0, 89)
	ds1, ds2 := certify(t, r, k1, from, to, to.AddDate(0, 0, 30)), certify(t, r, k2, from, to, to.AddDate(0, 0, 30))
	list := func(root tvRoot, seq uint64, certs ...[]byte) string {
		return signTrustList(t, root, seq, now.Add(-time.Minute), now.AddDate(0, 0, 30), certs, nil, nil)
	}
	l1, l2 := list(r, 1, ds1), list(r, 2, ds1, ds2)

	var mu sync.Mutex
	served, status := l1, http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if req.URL.Path != "/.well-known/epermit-trust-list" || req.Header.Get("Accept") != pki.TrustListMediaType {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", pki.TrustListMediaType)
		w.WriteHeader(status)
		w.Write([]byte(served))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "trust-list.jwt")
	os.WriteFile(file, []byte(l1+"\n"), 0o600)

	for _, src := range []struct {
		name, source string
		serve        func(list string, code int)
	}{
		{"url", srv.URL, func(list string, code int) { mu.Lock(); served, status = list, code; mu.Unlock() }},
		{"file", file, func(list string, _ int) { os.WriteFile(file, []byte(list), 0o600) }},
	} {
		t.Run(src.name, func(t *testing.T) {
			src.serve(l1, http.StatusOK)
			u, err := NewSignedTrustUpdater(context.Background(), srv.Client(), src.source, r.cert)
			if err != nil {
				t.Fatal(err)
			}
			if u.List().Seq() != 1 {
				t.Fatalf("seq %d", u.List().Seq())
			}
			kid2 := kidOf(t, k2)
			if _, code := u.KeyFor(kid2, now, now, DefaultSkew); code != CodeUnknownKey {
				t.Fatalf("key 2 before the new list: %q", code)
			}
			src.serve(l2, http.StatusOK)
			if err := u.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, code := u.KeyFor(kid2, now, now, DefaultSkew); code != "" || u.List().Seq() != 2 {
				t.Fatalf("key 2 after the new list: %q, seq %d", code, u.List().Seq())
			}
			for _, bad := range []struct {
				list string
				code Code
			}{{l1, CodeTrustListRollback}, {list(other, 3, certify(t, other, k1, from, to, to)), CodeTrustListSignature}, {"garbage", CodeTrustListFormat}} {
				src.serve(bad.list, http.StatusOK)
				err := u.Refresh(context.Background())
				var te *TrustListError
				if !errors.As(err, &te) || te.Code != bad.code {
					t.Errorf("refresh: %v, want %s", err, bad.code)
				}
				if u.List().Seq() != 2 {
					t.Fatalf("the list held changed to seq %d", u.List().Seq())
				}
			}
			if src.name == "url" {
				src.serve(l2, http.StatusServiceUnavailable)
				if err := u.Refresh(context.Background()); err == nil || u.List().Seq() != 2 {
					t.Fatalf("a 503: %v, seq %d", err, u.List().Seq())
				}
			}
			// The verifier built on the updater uses the list held.
			if string(u.List().Document()) != l2 || !u.List().Signed() || u.List().Root() != r.cert {
				t.Fatal("the list held is not the one accepted")
			}
		})
	}
	if _, err := NewSignedTrustUpdater(context.Background(), nil, file, nil); err == nil {
		t.Fatal("an updater without a root")
	}
	if _, err := NewSignedTrustUpdater(context.Background(), nil, filepath.Join(t.TempDir(), "none"), r.cert); err == nil {
		t.Fatal("an updater without a first list")
	}
}

// A status list is used only while its signing key may be: one signed by a
// revoked key, or by a key outside its usage period at the list's iat, is
// status_unknown, never revoked.
func TestStatusListSignedKeys(t *testing.T) {
	key, revokedKey := newKey(t), newKey(t)
	now := t0.Add(time.Minute)
	for _, tc := range []struct {
		name     string
		signer   *ecdsa.PrivateKey
		from, to time.Time
		unknown  bool
	}{
		{"certified key", key, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 89), false},
		{"revoked key", revokedKey, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 89), true},
		{"signed after the usage period", key, t0.AddDate(0, 0, -30), t0.Add(-time.Hour), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trust := signedTrustOf(t, now, tc.from, tc.to, []pki.RevokedKey{{Kid: kidOf(t, revokedKey), RevokedAt: t0}}, key, revokedKey)
			srv := newListServer(t, tc.signer)
			c := NewStatusCache(trust, StatusCacheOptions{Client: srv.Client()})
			v, _, err := c.Status(context.Background(), srv.uri(), 1, now)
			if tc.unknown != errors.Is(err, ErrStatusUnknown) || (!tc.unknown && v != StatusRevoked) {
				t.Fatalf("status %v, %v", v, err)
			}
		})
	}
	// A list cached before its key was revoked is not used after.
	srv := newListServer(t, key)
	good := signedTrustOf(t, now, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 89), nil, key)
	c := NewStatusCache(good, StatusCacheOptions{Client: srv.Client()})
	if _, _, err := c.Status(context.Background(), srv.uri(), 1, now); err != nil {
		t.Fatal(err)
	}
	c.SetTrustList(signedTrustOf(t, now, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 89), []pki.RevokedKey{{Kid: kidOf(t, key), RevokedAt: now}}))
	if _, _, err := c.Status(context.Background(), srv.uri(), 1, now); !errors.Is(err, ErrStatusUnknown) || !strings.Contains(err.Error(), string(CodeKeyRevoked)) {
		t.Fatalf("a cached list of a revoked key: %v", err)
	}
}

// Linkage proofs go through the same lookup.
func TestVerifyLinkageSignedKeys(t *testing.T) {
	issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	text := presentLinkage(t, issueLinkage(t, issuer, linkageClaims(&holder.PublicKey)), holder, lAud, lNonce, lProof)
	kid := kidOf(t, issuer)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		revoked  []pki.RevokedKey
		code     Code
	}{
		{"certified", lIssued.AddDate(0, 0, -1), lIssued.AddDate(0, 0, 89), nil, ""},
		{"revoked", lIssued.AddDate(0, 0, -1), lIssued.AddDate(0, 0, 89), []pki.RevokedKey{{Kid: kid, RevokedAt: lNow}}, CodeKeyRevoked},
		{"issued after the usage period", lIssued.AddDate(0, 0, -30), lIssued.Add(-time.Hour), nil, CodeKeyNotValid},
		{"issued before the usage period", lIssued.Add(time.Hour), lIssued.AddDate(0, 0, 89), nil, CodeKeyNotValid},
	} {
		trust := signedTrustOf(t, lNow, tc.from, tc.to, tc.revoked, issuer)
		r := VerifyLinkage(context.Background(), trust, fixedStatus("valid"), text, LinkagePolicy{Audience: lAud, Nonce: lNonce}, lNow)
		if r.Code != tc.code || (tc.code == "" && r.Decision != Accept) || (r.Code != "" && r.Message == "") {
			t.Errorf("%s: %s %q (%q), want %q", tc.name, r.Decision, r.Code, r.Message, tc.code)
		}
	}
}

func FuzzParseSignedTrustList(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", trustVectorsName))
	if err != nil {
		f.Fatal(err)
	}
	var vf trustVectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		f.Fatal(err)
	}
	for _, l := range vf.Lists {
		f.Add([]byte(l))
	}
	root, err := ParseRoot([]byte(vf.Roots["root"]))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseSignedTrustList(data, root, nil, "fuzz", vScan)
		if err != nil {
			var te *TrustListError
			if !errors.As(err, &te) || te.Code == "" {
				t.Fatalf("error %v without a code", err)
			}
			return
		}
		if l.Seq() < 1 || !l.Expiry().After(vScan.Add(-DefaultSkew)) || l.Root() == nil {
			t.Fatalf("accepted a list with seq %d, exp %v", l.Seq(), l.Expiry())
		}
	})
}

// A linkage proof of a certified key carries its DS certificate in x5c
// (spec §6, HAIP): the certificate is the key's and chains to the root, and
// the proof verifies as any other.
func TestLinkageX5C(t *testing.T) {
	issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	r := makeRoot(t, newKey(t), lIssued.AddDate(-1, 0, 0))
	ds := certify(t, r, issuer, lIssued.AddDate(0, 0, -1), lIssued.AddDate(0, 0, 89), lIssued.AddDate(0, 0, 119))
	sd, err := credential.IssueLinkageWithChain(linkageClaims(&holder.PublicKey), kidOf(t, issuer), issuer, [][]byte{ds})
	if err != nil {
		t.Fatal(err)
	}
	text := presentLinkage(t, sd, holder, lAud, lNonce, lProof)
	s, err := credential.ParseSDJWT(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.X5C) != 1 {
		t.Fatalf("x5c %v", s.X5C)
	}
	der, err := base64.StdEncoding.DecodeString(s.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if cert.KeyID != s.Kid || cert.CheckSignatureFrom(r.cert) != nil || s.VerifyIssuer(cert.PublicKey) != nil {
		t.Fatal("x5c does not resolve the issuer key to the root")
	}
	if _, err := credential.IssueLinkageWithChain(linkageClaims(&holder.PublicKey), kidOf(t, issuer), issuer, nil); err == nil {
		t.Fatal("issued with an empty chain")
	}
	trust := signedTrustOf(t, lNow, lIssued.AddDate(0, 0, -1), lIssued.AddDate(0, 0, 89), nil, issuer)
	if r := VerifyLinkage(context.Background(), trust, fixedStatus("valid"), text, LinkagePolicy{Audience: lAud, Nonce: lNonce}, lNow); r.Decision != Accept {
		t.Fatalf("%s %s", r.Decision, r.Code)
	}
}
