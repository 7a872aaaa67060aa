package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/applicant"
)

// demoServer is the server as `epermit demo` runs it: outbox codes, demo face.
func demoServer(t *testing.T, db *store.DB) (*httptest.Server, *notify.Outbox) {
	srv, _, outbox := pagesServer(t, db)
	return srv, outbox
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, method, url, bearer string, body any, header map[string]string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v", method, url, err)
		}
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s: error with Content-Type %q", method, url, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

var sixDigits = regexp.MustCompile(`[0-9]{6}`)

func TestAPIProofingToCredential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, outbox := demoServer(t, db)
		api := srv.URL + "/api/v1"

		// Wrong details: one generic code.
		code, p := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
			"document_number": "H12345678", "name": "陳小文", "birth_date": "1990-01-01"}, nil)
		if code != 422 || p["code"] != "details_mismatch" {
			t.Fatalf("mismatch = %d %v", code, p)
		}
		code, p = call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk", "extra": 1}, nil)
		if code != 400 || p["code"] != "invalid" {
			t.Fatalf("unknown field = %d %v", code, p)
		}

		code, p = call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
			"document_number": "H12345678", "name": "CHAN TAI MAN", "birth_date": "1990-01-01"}, nil)
		if code != 201 || p["phone_hint"] != "+852****4567" {
			t.Fatalf("start = %d %v", code, p)
		}
		secret := p["session"].(string)
		otp := sixDigits.FindString(outbox.Messages()[0].Text)
		if code, p = call(t, "POST", api+"/proofing/code", secret, map[string]string{"code": otp}, nil); code != 200 || p["state"] != "face_required" {
			t.Fatalf("code = %d %v", code, p)
		}
		selfie := demo.Registry(1)[0].Person.Portrait
		code, p = call(t, "POST", api+"/proofing/face", secret, map[string][]byte{"selfie": selfie}, nil)
		if code != 200 || p["state"] != "verified" || p["token"] == nil {
			t.Fatalf("face = %d %v", code, p)
		}
		token := p["token"].(string)

		// Apply with a device key, proving possession of it.
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		jwk, _ := credential.NewJWK(&key.PublicKey)
		jwk.Kid = "" // devices need not send one
		apply := func(idem string) (int, map[string]any) {
			_, n := call(t, "POST", api+"/nonce", token, nil, nil)
			digest := sha256.Sum256([]byte(n["nonce"].(string)))
			r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
			sig := make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			return call(t, "POST", api+"/epermits", token, map[string]any{"reason": "lost", "holder_key": jwk,
				"signature": base64.RawURLEncoding.EncodeToString(sig)}, map[string]string{"Idempotency-Key": idem})
		}
		code, c := apply("k1")
		if code != 201 || c["state"] != "active" {
			t.Fatalf("apply = %d %v", code, c)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(c["credential"].(string))
		ep, err := credential.ParseEPermit(raw)
		if err != nil || ep.Claims.Permit.DocumentNumber != "H12345678" || !ep.Claims.Holder.Equal(&key.PublicKey) {
			t.Fatalf("issued credential: %+v, %v", ep, err)
		}
		_, jwks := get(t, srv.URL+"/.well-known/jwks.json")
		trusted, _ := credential.ParseJWKSet([]byte(jwks))
		if err := ep.VerifySignature(trusted[ep.KidText()]); err != nil {
			t.Fatalf("credential vs trust list: %v", err)
		}
		if code, again := apply("k1"); code != 201 || again["cti"] != c["cti"] {
			t.Fatalf("idempotent retry = %d %v, want cti %v", code, again["cti"], c["cti"])
		}

		code, list := call(t, "GET", api+"/epermits", token, nil, nil)
		if code != 200 || len(list["epermits"].([]any)) != 1 {
			t.Fatalf("list = %d %v", code, list)
		}
		if code, _ := call(t, "DELETE", api+"/epermits/"+c["cti"].(string), token, nil, nil); code != 204 {
			t.Fatalf("cancel = %d", code)
		}
		_, list = call(t, "GET", api+"/epermits", token, nil, nil)
		if st := list["epermits"].([]any)[0].(map[string]any)["state"]; st != "revoked" {
			t.Fatalf("after cancel state = %v", st)
		}
		if code, p := call(t, "GET", api+"/epermits", "bogus", nil, nil); code != 401 || p["code"] != "unauthorized" {
			t.Fatalf("bad token = %d %v", code, p)
		}
		if code, p := call(t, "DELETE", api+"/epermits/zz", token, nil, nil); code != 400 || p["code"] != "invalid" {
			t.Fatalf("bad cti = %d %v", code, p)
		}
		if code, p := call(t, "GET", srv.URL+"/demo/outbox", "", nil, nil); code != 200 || p["demo"] != true {
			t.Fatalf("outbox = %d %v", code, p)
		}

		// Signing out ends the token, and again is no error.
		for range 2 {
			if code, p := call(t, "DELETE", api+"/session", token, nil, nil); code != 204 {
				t.Fatalf("sign out = %d %v", code, p)
			}
		}
		if code, p := call(t, "GET", api+"/epermits", token, nil, nil); code != 401 || p["code"] != "unauthorized" {
			t.Fatalf("after sign out = %d %v", code, p)
		}
		if code, p := call(t, "DELETE", api+"/session", "", nil, nil); code != 401 {
			t.Fatalf("sign out without a token = %d %v", code, p)
		}
	})
}

func TestOutboxOnlyInDemo(t *testing.T) {
	srv, _ := newTestServer(t, storetest.Open(t, store.SQLite), Options{})
	if resp, _ := get(t, srv.URL+"/demo/outbox"); resp.StatusCode != 404 {
		t.Fatalf("outbox served outside the demo: %d", resp.StatusCode)
	}
}

// Every answer of the applicant API and of the pages' /app/ calls carries
// personal data or a bearer secret, or may: none is stored by a cache.
func TestApplicantAnswersNotStored(t *testing.T) {
	srv, outbox := demoServer(t, storetest.Open(t, store.SQLite))
	do := func(method, path, bearer string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(path, "/app/") {
			req.AddCookie(&http.Cookie{Name: applicant.SessionCookie, Value: bearer})
		} else if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		json.NewDecoder(resp.Body).Decode(&out)
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s = %d with Cache-Control %q; want no-store", method, path, resp.StatusCode, cc)
		}
		return out
	}
	p := do("POST", "/api/v1/proofing", "", map[string]any{"document_type": "hk", "document_number": "H12345678",
		"name": "陳大文", "birth_date": "1990-01-01"})
	secret, _ := p["session"].(string)
	do("GET", "/api/v1/proofing", secret, nil)
	do("POST", "/api/v1/proofing/code", secret, map[string]string{"code": sixDigits.FindString(outbox.Messages()[0].Text)})
	p = do("POST", "/api/v1/proofing/face", secret, map[string][]byte{"selfie": demo.Registry(1)[0].Person.Portrait})
	token, _ := p["token"].(string)
	if token == "" {
		t.Fatalf("no session token: %v", p)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := credential.NewJWK(&key.PublicKey)
	jwk.Kid = ""
	n := do("POST", "/api/v1/nonce", token, nil)
	digest := sha256.Sum256([]byte(n["nonce"].(string)))
	r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	do("POST", "/api/v1/epermits", token, map[string]any{"reason": "lost", "holder_key": jwk,
		"signature": base64.RawURLEncoding.EncodeToString(sig)})
	do("GET", "/api/v1/epermits", token, nil)
	do("GET", "/api/v1/linkage", token, nil)
	do("GET", "/app/me", token, nil)
	do("GET", "/app/epermits", token, nil)
	do("GET", "/app/linkage", token, nil)
	do("GET", "/api/v1/epermits", "", nil) // refused: a problem, not stored either
}
