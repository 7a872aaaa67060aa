package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/applicant"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// oauthCall sends a request and decodes the JSON answer, which on error is
// an OAuth error object.
func oauthCall(t *testing.T, method, u, bearer, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: not JSON: %v", method, u, err)
	}
	return resp.StatusCode, out, resp.Header
}

const form = "application/x-www-form-urlencoded"

func tokenForm(code, tx string) string {
	return url.Values{"grant_type": {authority.PreAuthorizedGrant}, "pre-authorized_code": {code}, "tx_code": {tx}}.Encode()
}

func TestOID4VCIEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, outbox := pagesServer(t, db)
		iss := a.IssuerIdentifier()
		ctx := authority.WithActor(t.Context(), "officer:test")

		code, md, _ := oauthCall(t, "GET", srv.URL+"/.well-known/openid-credential-issuer", "", "", "")
		configs, _ := md["credential_configurations_supported"].(map[string]any)
		link, _ := configs[authority.ConfigLinkage].(map[string]any)
		ep1, _ := configs[authority.ConfigEPermit].(map[string]any)
		if code != 200 || md["credential_issuer"] != iss || md["nonce_endpoint"] != iss+"/oid4vci/nonce" ||
			link["format"] != "dc+sd-jwt" || link["vct"] != credential.LinkageVCT || ep1["format"] != credential.FormatEP1 {
			t.Fatalf("issuer metadata = %d %v", code, md)
		}
		claims := link["credential_metadata"].(map[string]any)["claims"].([]any)
		if len(claims) != len(credential.LinkageClaimNames) {
			t.Fatalf("claims = %v", claims)
		}
		for _, c := range claims {
			ds := c.(map[string]any)["display"].([]any)
			if len(ds) != 3 || ds[0].(map[string]any)["locale"] != "zh-Hant" || ds[0].(map[string]any)["name"] == "" {
				t.Fatalf("claim display = %v", c)
			}
		}
		code, as, _ := oauthCall(t, "GET", srv.URL+"/.well-known/oauth-authorization-server", "", "", "")
		if code != 200 || as["token_endpoint"] != iss+"/oid4vci/token" {
			t.Fatalf("AS metadata = %d %v", code, as)
		}

		o, err := a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.TemporaryEPermit, DocumentType: permit.HKHomeReturnPermit,
			DocumentNumber: "H12345678", Reason: permit.ReasonLost})
		if err != nil {
			t.Fatal(err)
		}
		msgs := outbox.Messages()
		tx := sixDigits.FindString(msgs[0].Text)
		// The offer by reference.
		ref := strings.TrimPrefix(o.URI(), iss)
		code, offer, _ := oauthCall(t, "GET", srv.URL+ref, "", "", "")
		grant, _ := offer["grants"].(map[string]any)[authority.PreAuthorizedGrant].(map[string]any)
		if code != 200 || grant["pre-authorized_code"] != o.Code || offer["credential_issuer"] != iss {
			t.Fatalf("offer = %d %v", code, offer)
		}
		if v, _ := url.Parse(o.ByValue()); v.Scheme != "openid-credential-offer" || !strings.Contains(v.Query().Get("credential_offer"), o.Code) {
			t.Fatalf("offer by value = %s", o.ByValue())
		}

		for _, tc := range []struct{ name, body, ctype, want string }{
			{"not a form", `{}`, "application/json", "invalid_request"},
			{"another grant", "grant_type=authorization_code&code=x", form, "unsupported_grant_type"},
			{"no code", "grant_type=" + url.QueryEscape(authority.PreAuthorizedGrant), form, "invalid_request"},
			{"wrong tx_code", tokenForm(o.Code, "12345x"), form, "invalid_grant"},
		} {
			code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/token", "", tc.ctype, tc.body)
			if code != 400 || e["error"] != tc.want {
				t.Errorf("token, %s = %d %v, want %s", tc.name, code, e, tc.want)
			}
		}
		code, tok, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/token", "", form, tokenForm(o.Code, tx))
		if code != 200 || tok["token_type"] != "Bearer" || tok["access_token"] == "" {
			t.Fatalf("token = %d %v", code, tok)
		}
		if code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/token", "", form, tokenForm(o.Code, tx)); code != 400 || e["error"] != "invalid_grant" {
			t.Fatalf("reused code = %d %v", code, e)
		}
		if code, _, _ := oauthCall(t, "GET", srv.URL+ref, "", "", ""); code != 404 {
			t.Fatalf("a redeemed offer is still served: %d", code)
		}
		access := tok["access_token"].(string)

		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, n, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/nonce", "", "", "")
		nonce := n["c_nonce"].(string)
		credReq := func(p string) string {
			b, _ := json.Marshal(map[string]any{"credential_configuration_id": authority.ConfigEPermit, "proofs": map[string]any{"jwt": []string{p}}})
			return string(b)
		}
		other, _ := credential.MakeProofJWT(key, "https://other.example", nonce, time.Now())
		code, e, h := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", "nope", "application/json", credReq(other))
		if code != 401 || e["error"] != "invalid_token" || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
			t.Fatalf("bad token = %d %v %v", code, e, h)
		}
		// A malformed credential request is invalid_credential_request (spec §9.2).
		both := `{"credential_configuration_id":"` + authority.ConfigEPermit + `","proofs":{"jwt":["` + other +
			`"]},"proof":{"proof_type":"jwt","jwt":"` + other + `"}}`
		for name, body := range map[string]string{"not JSON": `{"credential_configuration_id":`, "proofs and proof": both} {
			if code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", access, "application/json", body); code != 400 || e["error"] != "invalid_credential_request" {
				t.Errorf("credential request, %s = %d %v, want 400 invalid_credential_request", name, code, e)
			}
		}
		if code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", access, "application/json", credReq(other)); code != 400 || e["error"] != "invalid_proof" {
			t.Fatalf("proof for another aud = %d %v", code, e)
		}
		stale, _ := credential.MakeProofJWT(key, iss, "made-up", time.Now())
		if code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", access, "application/json", credReq(stale)); code != 400 || e["error"] != "invalid_nonce" {
			t.Fatalf("unknown nonce = %d %v", code, e)
		}
		good, _ := credential.MakeProofJWT(key, iss, nonce, time.Now())
		code, cr, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", access, "application/json", credReq(good))
		if code != 200 {
			t.Fatalf("credential = %d %v", code, cr)
		}
		raw, err := base64.RawURLEncoding.DecodeString(cr["credentials"].([]any)[0].(map[string]any)["credential"].(string))
		if err != nil {
			t.Fatal(err)
		}
		// The wallet presents it at a gate like any e-permit.
		pres, err := credential.Present(raw, key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		gateClient, _, err := a.AddClient(ctx, permit.RoleVerifier, "gate-1", "airline")
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.VerifyPresentation(ctx, gateClient, credential.EncodeQR(pres), verify.UseFlight)
		if err != nil || res.Decision != verify.Accept {
			t.Fatalf("gate verification = %+v %v", res, err)
		}
		if code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", access, "application/json", credReq(good)); code != 401 || e["error"] != "invalid_token" {
			t.Fatalf("second credential on one token = %d %v", code, e)
		}

		// The rules refuse a third e-permit this month: credential_request_denied.
		for i, want := range []string{"", "credential_request_denied"} {
			o, err := a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.TemporaryEPermit, DocumentType: permit.HKHomeReturnPermit,
				DocumentNumber: "H12345678", Reason: permit.ReasonLost})
			if err != nil {
				t.Fatal(err)
			}
			_, tok, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/token", "", form, tokenForm(o.Code, sixDigits.FindString(outbox.Messages()[0].Text)))
			_, n, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/nonce", "", "", "")
			p, _ := credential.MakeProofJWT(key, iss, n["c_nonce"].(string), time.Now())
			code, e, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/credential", tok["access_token"].(string), "application/json", credReq(p))
			if (want == "" && code != 200) || (want != "" && (code != 400 || e["error"] != want || !strings.HasPrefix(e["error_description"].(string), "quota_exceeded"))) {
				t.Fatalf("e-permit %d this month = %d %v, want %q", i+2, code, e, want)
			}
		}
	})
}

// "Add to another wallet": a proven applicant's offer, on the pages (CSRF
// and the session cookie) and on the API (bearer).
func TestApplicantOffers(t *testing.T) {
	srv, _, outbox := pagesServer(t, storetest.Open(t, store.SQLite))
	token := proveAPI(t, srv.URL+"/api/v1", outbox)
	csrf := "c0ffee-c0ffee-c0ffee-c0ffee-c0ffee-c0ffee-00"
	post := func(body string, withCSRF bool) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/app/offers", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", "en")
		req.AddCookie(&http.Cookie{Name: applicant.SessionCookie, Value: token})
		if withCSRF {
			req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: csrf})
			req.Header.Set(httpx.CSRFHeader, csrf)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post(`{"kind":"linkage"}`, false); code != 403 {
		t.Errorf("without the CSRF token: %d", code)
	}
	code, o := post(`{"kind":"epermit","reason":"lost"}`, true)
	if code != 201 || !strings.HasPrefix(o["credential_offer_uri"].(string), "openid-credential-offer://?credential_offer_uri=") ||
		o["credential_configuration_id"] != authority.ConfigEPermit || !strings.Contains(o["phone_hint"].(string), "*") {
		t.Fatalf("page offer = %d %v", code, o)
	}
	// In the page's language.
	if msgs := outbox.Messages(); !strings.Contains(msgs[0].Text, "transaction code") || !sixDigits.MatchString(msgs[0].Text) {
		t.Errorf("no transaction code sent in English: %q", msgs[0].Text)
	}
	for _, body := range []string{`{"kind":"passport"}`, `{"kind":"epermit"}`} {
		if code, p := post(body, true); code == 201 || p["code"] == nil {
			t.Errorf("%s: %d %v", body, code, p)
		}
	}
	if code, p := call(t, "POST", srv.URL+"/api/v1/offers", "", map[string]string{"kind": "linkage"}, nil); code != 401 {
		t.Errorf("API without a session: %d %v", code, p)
	}
}

// The nonce endpoint, open to anyone and writing on each call, has a
// per-address limit of its own, tighter than the server's; beyond it an
// OAuth error, 429 rate_limited, and the address's other calls still pass.
func TestNonceEndpointLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, _ := newTestServer(t, db, Options{RateLimit: 1000, RateBurst: 1000, NonceRateLimit: 0.001, NonceRateBurst: 3})
		for i := range 3 {
			if code, n, _ := oauthCall(t, "POST", srv.URL+"/oid4vci/nonce", "", "", ""); code != 200 || n["c_nonce"] == "" {
				t.Fatalf("nonce %d = %d %v", i+1, code, n)
			}
		}
		code, e, h := oauthCall(t, "POST", srv.URL+"/oid4vci/nonce", "", "", "")
		if code != http.StatusTooManyRequests || e["error"] != "rate_limited" || h.Get("Retry-After") == "" {
			t.Fatalf("4th nonce = %d %v %v; want 429 rate_limited", code, e, h)
		}
		if code, _, _ := oauthCall(t, "GET", srv.URL+"/.well-known/openid-credential-issuer", "", "", ""); code != 200 {
			t.Errorf("metadata after the nonce limit = %d", code)
		}
	})
}
