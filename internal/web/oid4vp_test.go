package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// An institution asks over OpenID4VP, a wallet answers by direct_post,
// the institution reads the result.
func TestOID4VPEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, outbox := pagesServer(t, db)
		iss := a.IssuerIdentifier()
		ctx := authority.WithActor(t.Context(), "officer:test")
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		// A linkage proof in the wallet, over OpenID4VCI.
		o, err := a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.LinkageProofKind, DocumentType: permit.HKHomeReturnPermit,
			DocumentNumber: "H12345678"})
		if err != nil {
			t.Fatal(err)
		}
		msgs := outbox.Messages()
		at, err := a.RedeemOffer(ctx, o.Code, sixDigits.FindString(msgs[0].Text))
		if err != nil {
			t.Fatal(err)
		}
		nonce, _ := a.CNonce(ctx)
		proof, _ := credential.MakeProofJWT(key, iss, nonce, time.Now())
		lp, err := a.IssueToWallet(ctx, authority.CredentialRequest{AccessToken: at.Token, ConfigurationID: at.ConfigurationID, Proof: proof})
		if err != nil {
			t.Fatal(err)
		}
		_, bankKey, _ := a.AddClient(ctx, permit.RoleInstitution, "bank-1", "bank")

		q := map[string]any{"credentials": []any{map[string]any{"id": "linkage", "format": "dc+sd-jwt",
			"meta":   map[string]any{"vct_values": []string{credential.LinkageVCT}},
			"claims": []any{map[string]any{"path": []string{"residence_permit_number"}}}}}}
		if code, p := call(t, "POST", srv.URL+"/api/v1/presentations", "", map[string]any{"dcql_query": q, "purpose": "x"}, nil); code != 401 {
			t.Fatalf("no key = %d %v", code, p)
		}
		if code, p := call(t, "POST", srv.URL+"/api/v1/presentations", bankKey, map[string]any{"dcql_query": map[string]any{}, "purpose": "x"}, nil); code != 400 || p["code"] != "invalid" {
			t.Fatalf("bad query = %d %v", code, p)
		}
		code, pr := call(t, "POST", srv.URL+"/api/v1/presentations", bankKey, map[string]any{"dcql_query": q, "purpose": "account opening"}, nil)
		if code != 201 || pr["transaction_id"] == nil || !strings.HasPrefix(pr["authorization_request"].(string), "openid4vp://?client_id=verifier_attestation%3Abank-1&request_uri=") {
			t.Fatalf("create = %d %v", code, pr)
		}
		id := pr["transaction_id"].(string)
		resp, err := http.Get(srv.URL + "/oid4vp/requests/" + id)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/oauth-authz-req+jwt" {
			t.Fatalf("request object = %d %s", resp.StatusCode, body)
		}
		var claims map[string]any
		cb, _ := base64.RawURLEncoding.DecodeString(strings.Split(string(body), ".")[1])
		json.Unmarshal(cb, &claims)
		if claims["response_uri"] != iss+"/oid4vp/responses/"+id || claims["purpose"] != "account opening" {
			t.Fatalf("request = %v", claims)
		}
		pres, _ := credential.PresentLinkage(string(lp.Token), []string{"residence_permit_number"}, key, claims["client_id"].(string),
			claims["nonce"].(string), time.Now())
		vp, _ := json.Marshal(map[string][]string{"linkage": {pres}})
		post := func(v url.Values) (int, map[string]any) {
			code, out, _ := oauthCall(t, "POST", srv.URL+"/oid4vp/responses/"+id, "", form, v.Encode())
			return code, out
		}
		if code, e := post(url.Values{"vp_token": {string(vp)}, "state": {"other"}}); code != 400 || e["error"] != "invalid_request" {
			t.Fatalf("wrong state = %d %v", code, e)
		}
		if code, e := post(url.Values{"vp_token": {string(vp)}, "state": {id}}); code != 200 {
			t.Fatalf("response = %d %v", code, e)
		}
		if code, e := post(url.Values{"vp_token": {string(vp)}, "state": {id}}); code != 409 || e["error"] != "presentation_answered" {
			t.Fatalf("posted twice = %d %v", code, e)
		}
		code, res := call(t, "GET", srv.URL+"/api/v1/presentations/"+id, bankKey, nil, nil)
		if code != 200 || res["state"] != "answered" {
			t.Fatalf("result = %d %v", code, res)
		}
		got := res["result"].(map[string]any)["claims"].(map[string]any)
		if len(got) != 1 || got["residence_permit_number"] == "" {
			t.Fatalf("claims = %v", got)
		}
	})
}
