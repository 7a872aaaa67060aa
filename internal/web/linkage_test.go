package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// proveAPI runs identity proofing for demo record 0 through the API and
// returns the applicant session token.
func proveAPI(t *testing.T, api string, outbox *notify.Outbox) string {
	t.Helper()
	code, p := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
		"document_number": "H12345678", "name": "陳大文", "birth_date": "1990-01-01"}, nil)
	if code != 201 {
		t.Fatalf("start = %d %v", code, p)
	}
	secret := p["session"].(string)
	msgs := outbox.Messages()
	otp := sixDigits.FindString(msgs[len(msgs)-1].Text)
	if code, p = call(t, "POST", api+"/proofing/code", secret, map[string]string{"code": otp}, nil); code != 200 {
		t.Fatalf("code = %d %v", code, p)
	}
	code, p = call(t, "POST", api+"/proofing/face", secret, map[string][]byte{"selfie": demo.Registry(1)[0].Person.Portrait}, nil)
	if code != 200 || p["token"] == nil {
		t.Fatalf("face = %d %v", code, p)
	}
	return p["token"].(string)
}

// signNonce gets a nonce and signs it with key as a device would.
func signNonce(t *testing.T, api, token string, key *ecdsa.PrivateKey) string {
	t.Helper()
	_, n := call(t, "POST", api+"/nonce", token, nil, nil)
	digest := sha256.Sum256([]byte(n["nonce"].(string)))
	r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}

func TestLinkageHolderAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, outbox := demoServer(t, db)
		api := srv.URL + "/api/v1"
		token := proveAPI(t, api, outbox)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		jwk, _ := credential.NewJWK(&key.PublicKey)
		jwk.Kid = ""

		if code, p := call(t, "POST", api+"/linkage", token, map[string]any{"holder_key": jwk, "signature": "AAAA"}, nil); code != 422 || p["code"] != "proof_invalid" {
			t.Fatalf("no valid proof of possession = %d %v", code, p)
		}
		code, c := call(t, "POST", api+"/linkage", token, map[string]any{"holder_key": jwk, "signature": signNonce(t, api, token, key)}, nil)
		if code != 201 || c["state"] != "active" {
			t.Fatalf("issue = %d %v", code, c)
		}
		sd := c["credential"].(string)
		pres, err := credential.PresentLinkage(sd, []string{credential.ClaimName, credential.ClaimResidencePermitNumber}, key, "bank", "n", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		trust, err := verify.FetchTrustList(context.Background(), http.DefaultClient, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if r := verify.VerifyLinkage(context.Background(), trust, nil, pres, verify.LinkagePolicy{Audience: "bank", Nonce: "n"}, time.Now()); !r.Accepted() || len(r.Claims) != 2 || r.Claims["name"] != "陳大文" {
			t.Fatalf("verify: %+v", r)
		}

		code, list := call(t, "GET", api+"/linkage", token, nil, nil)
		if code != 200 || len(list["linkage_proofs"].([]any)) != 1 {
			t.Fatalf("list = %d %v", code, list)
		}
		if code, p := call(t, "GET", api+"/linkage", "bogus", nil, nil); code != 401 || p["code"] != "unauthorized" {
			t.Fatalf("bad token = %d %v", code, p)
		}

		// The printable result: no personal data in its URL, the data on the page.
		resultURL := c["result_url"].(string)
		id := c["cti"].(string)
		if !strings.HasSuffix(resultURL, "/linkage/"+id) || strings.Contains(resultURL, "H12345678") {
			t.Fatalf("result url %s", resultURL)
		}
		resp, page := get(t, srv.URL+"/linkage/"+id)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("page %d %v", resp.StatusCode, resp.Header)
		}
		rp := demo.Registry(1)[0].ResidencePermit.Number
		for _, want := range []string{"陳大文", "CHAN, TAI MAN", "H12345678", rp, id, "/linkage/print.css", "/linkage/" + id + "/qr.png"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(page, "<script") || strings.Contains(page, "style=") || strings.Contains(page, "<style") {
			t.Error("page has inline script or style, which the CSP forbids")
		}
		resp, png := get(t, srv.URL+"/linkage/"+id+"/qr.png")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("qr %d", resp.StatusCode)
		}
		if text, err := qrcode.DecodePNG([]byte(png)); err != nil || text != resultURL {
			t.Fatalf("qr says %q, %v; want %s", text, err, resultURL)
		}
		if resp, css := get(t, srv.URL+"/linkage/print.css"); resp.StatusCode != 200 || !strings.Contains(css, "@media print") {
			t.Fatalf("css %d", resp.StatusCode)
		}
		for _, bad := range []string{"zz", "00000000000000000000000000000000"} {
			if resp, _ := get(t, srv.URL+"/linkage/"+bad); resp.StatusCode != 404 {
				t.Errorf("%s: %d", bad, resp.StatusCode)
			}
		}

		// Cancelled: the page no longer shows personal data.
		if code, _ := call(t, "DELETE", api+"/linkage/"+id, token, nil, nil); code != 204 {
			t.Fatalf("cancel = %d", code)
		}
		_, page = get(t, srv.URL+"/linkage/"+id)
		if strings.Contains(page, "H12345678") || strings.Contains(page, rp) || !strings.Contains(page, "revoked") {
			t.Errorf("revoked page: %s", page)
		}
	})
}

func TestLinkageCheckAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a := newTestServer(t, db, Options{RateLimit: 1000, RateBurst: 1000, ClientRateLimit: 0.001, ClientRateBurst: 8})
		ctx := authority.WithActor(context.Background(), "test")
		recs := seedRegistry(t, a, 3)
		_, bank, _ := a.AddClient(ctx, permit.RoleInstitution, "Bank A", "bank")
		_, telco, _ := a.AddClient(ctx, permit.RoleInstitution, "Telco B", "telecom")
		_, gone, _ := a.AddClient(ctx, permit.RoleInstitution, "Gone C", "internet")
		_, gate, _ := a.AddClient(ctx, permit.RoleVerifier, "Gate 1", "railway")
		if err := a.SetClientDisabled(ctx, permit.RoleInstitution, "Gone C", true); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(bank, "epi_") {
			t.Fatalf("institution key %s", bank)
		}
		rp := recs[0].ResidencePermit.Number
		url := srv.URL + "/api/v1/linkage/check"
		body := func(tp, rpn string) map[string]string {
			return map[string]string{"travel_permit_type": "hk", "travel_permit_number": tp, "residence_permit_number": rpn, "purpose": "SIM card registration"}
		}
		tests := []struct {
			name   string
			key    string
			body   any
			status int
			code   string
			linked bool
		}{
			{"no key", "", body("H12345678", rp), 401, "unauthorized", false},
			{"verifier key", gate, body("H12345678", rp), 401, "unauthorized", false},
			{"wrong key", bank + "x", body("H12345678", rp), 401, "unauthorized", false},
			{"disabled institution", gone, body("H12345678", rp), 401, "unauthorized", false},
			{"linked", bank, body("H12345678", rp), 200, "", true},
			{"unknown permit", bank, body("H99999999", rp), 200, "", false},
			{"bad travel permit format", bank, body("12345678", rp), 400, "invalid", false},
			{"bad residence permit format", bank, body("H12345678", "810000"), 400, "invalid", false},
			{"unknown type", bank, map[string]string{"travel_permit_type": "xx", "travel_permit_number": "H12345678", "residence_permit_number": rp, "purpose": "x"}, 400, "invalid", false},
			{"no purpose", bank, map[string]string{"travel_permit_type": "hk", "travel_permit_number": "H12345678", "residence_permit_number": rp}, 400, "invalid", false},
			{"unknown field", bank, map[string]string{"travel_permit_type": "hk", "travel_permit_number": "H12345678", "residence_permit_number": rp, "purpose": "x", "birth_date": "1990-01-01"}, 400, "invalid", false},
			{"name differs", bank, map[string]string{"travel_permit_type": "hk", "travel_permit_number": "H12345678", "residence_permit_number": rp, "purpose": "x", "name": "李四"}, 200, "", false},
		}
		for _, tc := range tests {
			status, out := call(t, "POST", url, tc.key, tc.body, nil)
			if status != tc.status {
				t.Fatalf("%s: %d %v; want %d", tc.name, status, out, tc.status)
			}
			if tc.code != "" {
				if out["code"] != tc.code {
					t.Errorf("%s: %v; want code %s", tc.name, out, tc.code)
				}
				continue
			}
			// Nothing but the answer and a reference: the same shape
			// whether linked or not.
			keys := make([]string, 0, len(out))
			for k := range out {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if strings.Join(keys, ",") != "linked,reference" || out["linked"] != tc.linked {
				t.Errorf("%s: answer %v", tc.name, out)
			}
			ref, _ := out["reference"].(string)
			rec, err := a.LinkageCheckByReference(ctx, ref)
			if err != nil || rec.Institution != "Bank A" || !bytes.Contains(rec.Details, []byte(`"purpose"`)) {
				t.Errorf("%s: audit entry for %s: %+v %v", tc.name, ref, rec, err)
			}
		}
		// Bank A used its burst of 8 above (8 authenticated calls); the
		// next is refused for it alone.
		if status, out := call(t, "POST", url, bank, body("H12345678", rp), nil); status != 429 || out["code"] != "rate_limited" {
			t.Errorf("over the limit: %d %v", status, out)
		}
		if status, out := call(t, "POST", url, telco, body("H12345678", rp), nil); status != 200 || out["linked"] != true {
			t.Errorf("another institution was limited too: %d %v", status, out)
		}
	})
}
