package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gmsm "github.com/emmansun/gmsm/sm2"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/verify"
)

// TestBrowserGateSM2StatusList: after a rotation to SM2 the status lists
// are SM2-signed, which the page cannot verify: an ES256 e-permit on such
// a list gets "needs_online" (its status is the authority's to tell), not
// accept_with_warning status_unknown, and never an entry read from the
// unverified list; a second scan of the same QR is not "replayed", so the
// online check the page then makes is not refused on the device. A list
// under a P-256 key is read as before.
func TestBrowserGateSM2StatusList(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sm2key, err := gmsm.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var set credential.JWKSet
	for _, k := range []*ecdsa.PublicKey{&p256.PublicKey, &sm2key.PublicKey} {
		j, err := credential.NewJWK(k)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j)
	}
	jwks, _ := json.Marshal(set)
	const uri = "https://s.example/s/1"
	kid, _ := credential.KeyID(&p256.PublicKey)
	token, err := credential.SignEPermit(credential.Claims{Issuer: "CN-NIA", IssuedAt: at.Add(-time.Hour), NotBefore: at.Add(-time.Hour),
		Expiry: at.Add(7 * 24 * time.Hour), ID: [16]byte{9}, Holder: &holder.PublicKey, Status: credential.StatusRef{Idx: 5, URI: uri},
		Permit: credential.Permit{Kind: 1, DocumentType: 1, DocumentNumber: "H12345678", Name: "陳大文", LatinName: "CHAN, TAI MAN",
			Sex: 1, BirthDate: "1990-01-01", Scopes: []credential.Scope{credential.ScopeTrain}, Reason: 1}}, kid, p256)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := credential.Present(token, holder, at)
	if err != nil {
		t.Fatal(err)
	}
	// The list says revoked: read, it would give "revoked".
	statusList := func(key *ecdsa.PublicKey, sign func(credential.StatusListClaims, []byte, []byte) ([]byte, error)) string {
		t.Helper()
		l, _ := credential.NewStatusList(64)
		l.Set(5, credential.StatusRevoked)
		lst, err := l.Compress()
		if err != nil {
			t.Fatal(err)
		}
		k, _ := credential.KeyID(key)
		tok, err := sign(credential.StatusListClaims{Subject: uri, IssuedAt: at.Add(-time.Minute), Expiry: at.Add(24 * time.Hour),
			TTL: 5 * time.Minute, List: l}, lst, k)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(tok)
	}
	sm2List := statusList(&sm2key.PublicKey, func(c credential.StatusListClaims, lst, k []byte) ([]byte, error) {
		return credential.SignStatusListCWT(c, lst, k, sm2key)
	})
	p256List := statusList(&p256.PublicKey, func(c credential.StatusListClaims, lst, k []byte) ([]byte, error) {
		return credential.SignStatusListCWT(c, lst, k, p256)
	})
	text := credential.EncodeQR(pres)
	cases := []pageCase{
		{Name: "ES256 e-permit, SM2 status list", Text: text, At: at, Use: verify.UseTrain, JWKS: jwks, StatusList: sm2List},
		{Name: "ES256 e-permit, SM2 status list, scanned twice", Text: text, At: at, Use: verify.UseTrain, JWKS: jwks, StatusList: sm2List, Scans: 2},
		{Name: "ES256 e-permit, P-256 status list", Text: text, At: at, Use: verify.UseTrain, JWKS: jwks, StatusList: p256List},
	}
	want := []pageResult{{Decision: "needs_online", Code: "sm2"}, {Decision: "needs_online", Code: "sm2"}, {Decision: "reject", Code: "revoked"}}
	// The page's verifier does not touch the store: one engine is enough.
	ctx := browser(t)
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	do(t, ctx, "open the gate", chromedp.Navigate(srv.URL+"/gate"), chromedp.Poll[chromedp.Void](`typeof EP1 === "object"`))
	got := runInPage(t, ctx, cases)
	for i, c := range cases {
		if g := got[i]; g.Error != "" || g.Decision != want[i].Decision || g.Code != want[i].Code {
			t.Errorf("%s: page %s %q %v (%s); want %s %q", c.Name, g.Decision, g.Code, g.Warnings, g.Error, want[i].Decision, want[i].Code)
		}
	}
}
