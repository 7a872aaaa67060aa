package authority_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/sm2"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// jws splits a compact JWS, checks its signature with pub (if not nil) in
// pub's suite, alg ES256 or SM2 (spec §1.1), and returns its header and
// claims.
func jws(t testing.TB, s string, pub *ecdsa.PublicKey) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", s)
	}
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		t.Fatalf("JWS parts are not JSON: %q", s)
	}
	if pub != nil {
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		input := []byte(parts[0] + "." + parts[1])
		var ok bool
		if pub.Curve == elliptic.P256() {
			d := sha256.Sum256(input)
			ok = h["alg"] == "ES256" && len(sig) == 64 && ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		} else {
			hash, err := sm2.Algorithm{}.NewHash(pub)
			if err != nil {
				t.Fatal(err)
			}
			hash.Write(input)
			ok = h["alg"] == "SM2" && sm2.Algorithm{}.VerifyDigest(pub, hash.Sum(nil), sig)
		}
		if !ok {
			t.Fatalf("JWS (alg %v) does not verify", h["alg"])
		}
	}
	return h, c
}

func dcql(claims ...string) json.RawMessage {
	q := &credential.DCQLQuery{ID: "linkage", Claims: claims}
	b, _ := json.Marshal(q.JSON())
	return b
}

// walletRequest fetches and checks a request object as a wallet does:
// the attestation under a trust-list key, the request under the
// attestation's cnf key, and the client_id the attestation vouches for.
func walletRequest(t testing.TB, f *fixture, pr *authority.PresentationRequest) map[string]any {
	t.Helper()
	u, _ := url.Parse(pr.AuthorizationRequest)
	if u.Scheme != "openid4vp" || u.Query().Get("request_uri") != pr.RequestURI {
		t.Fatalf("authorization request %s", pr.AuthorizationRequest)
	}
	obj, err := f.a.RequestObject(ctx, pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := jws(t, obj, nil)
	att := h["jwt"].(string)
	ah, _ := jws(t, att, nil)
	trust := f.trust(t)
	issuerKey, ok := trust.Key(ah["kid"].(string))
	if !ok || h["typ"] != credential.TypRequestObject || ah["typ"] != credential.TypVerifierAttestation {
		t.Fatalf("headers %v %v", h, ah)
	}
	_, ac := jws(t, att, issuerKey)
	cnf, _ := json.Marshal(ac["cnf"].(map[string]any)["jwk"])
	var jwk credential.JWK
	json.Unmarshal(cnf, &jwk)
	reqKey, err := jwk.PublicKey() // the issuer key, of either suite
	if err != nil {
		t.Fatal(err)
	}
	_, c := jws(t, obj, reqKey)
	if c["client_id"] != credential.ClientIDPrefix+ac["sub"].(string) || c["client_id"] != u.Query().Get("client_id") ||
		c["response_mode"] != "direct_post" || c["state"] != pr.ID || ac["iss"] != "https://epermit.test" {
		t.Fatalf("request %v, attestation %v", c, ac)
	}
	return c
}

func vpToken(t testing.TB, pres string) string {
	b, _ := json.Marshal(map[string][]string{"linkage": {pres}})
	return string(b)
}

func TestOID4VP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		d := newDevice(t)
		o, tx := counterOffer(t, f, r, permit.LinkageProofKind)
		lp, err := f.redeem(t, o, tx, d)
		if err != nil {
			t.Fatal(err)
		}
		bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "bank-1", "bank")
		if err != nil {
			t.Fatal(err)
		}
		other, _, _ := f.a.AddClient(ctx, permit.RoleInstitution, "bank-2", "bank")
		want := []string{credential.ClaimTravelPermitNumber, credential.ClaimResidencePermitNumber}
		present := func(req map[string]any, claims []string) string {
			p, err := credential.PresentLinkage(string(lp.Token), claims, d.key, req["client_id"].(string), req["nonce"].(string), f.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			return vpToken(t, p)
		}
		code := func(name string, err error, want permit.Code) {
			t.Helper()
			if permit.ErrorCode(err) != want {
				t.Errorf("%s: %v, want %s", name, err, want)
			}
		}

		// Bad requests.
		_, err = f.a.CreatePresentation(ctx, bank, dcql("email"), "account opening")
		code("unknown claim", err, permit.ECodeInvalid)
		_, err = f.a.CreatePresentation(ctx, bank, dcql(want...), "")
		code("no purpose", err, permit.ECodeInvalid)
		_, err = f.a.CreatePresentation(ctx, bank, dcql(want...), "account ‮opening")
		code("a purpose with a bidirectional override", err, permit.ECodeInvalid)
		verifier, _, _ := f.a.AddClient(ctx, permit.RoleVerifier, "gate-1", "airline")
		_, err = f.a.CreatePresentation(ctx, verifier, dcql(want...), "x")
		code("a verifier", err, permit.ECodeForbidden)

		pr, err := f.a.CreatePresentation(ctx, bank, dcql(want...), "account opening")
		if err != nil {
			t.Fatal(err)
		}
		req := walletRequest(t, f, pr)
		pr2, _ := f.a.CreatePresentation(ctx, bank, dcql(want...), "account opening")
		req2 := walletRequest(t, f, pr2)

		answer := func(id, vp string) error {
			return f.a.AnswerPresentation(ctx, id, authority.PresentationResponse{VPToken: vp, State: id})
		}
		code("another request's nonce", answer(pr.ID, present(req2, want)), permit.ECodeInvalidPresentation)
		code("more claims than asked", answer(pr.ID, present(req, append([]string{credential.ClaimName}, want...))), permit.ECodeInvalidPresentation)
		code("fewer claims than asked", answer(pr.ID, present(req, want[:1])), permit.ECodeInvalidPresentation)
		code("wrong state", f.a.AnswerPresentation(ctx, pr.ID, authority.PresentationResponse{VPToken: present(req, want), State: pr2.ID}), permit.ECodeInvalidRequest)
		code("vp_token not keyed by the query id", answer(pr.ID, `{"x":["a"]}`), permit.ECodeInvalidRequest)

		// Posted twice at once: accepted once.
		vp := present(req, want)
		var mu sync.Mutex
		got := map[permit.Code]int{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := answer(pr.ID, vp)
				mu.Lock()
				if err == nil {
					got["ok"]++
				} else {
					got[permit.ErrorCode(err)]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if got["ok"] != 1 || got[permit.ECodePresentationAnswered] != 7 {
			t.Errorf("8 parallel responses: %v, want 1 ok and 7 %s", got, permit.ECodePresentationAnswered)
		}
		code("posted again", answer(pr.ID, vp), permit.ECodePresentationAnswered)
		if _, err := f.a.RequestObject(ctx, pr.ID); permit.ErrorCode(err) != permit.ECodePresentationAnswered {
			t.Errorf("request object of an answered request: %v", err)
		}

		out, err := f.a.PresentationResult(ctx, bank, pr.ID)
		if err != nil || out.State != store.VPAnswered || out.AnsweredAt == nil {
			t.Fatalf("result = %+v %v", out, err)
		}
		var res struct {
			Claims map[string]any `json:"claims"`
		}
		json.Unmarshal(out.Result, &res)
		if len(res.Claims) != 2 || res.Claims[credential.ClaimResidencePermitNumber] != r.ResidencePermit.Number ||
			res.Claims[credential.ClaimTravelPermitNumber] != r.TravelPermits[0].Number {
			t.Fatalf("claims = %v", res.Claims)
		}
		_, err = f.a.PresentationResult(ctx, other, pr.ID)
		code("another institution reads", err, permit.ECodeNotFound)
		ev, _ := f.a.AuditEvents(ctx, "presentation:"+pr.ID)
		if len(ev) != 2 || ev[0].Action != "oid4vp.answer" || !strings.Contains(string(ev[0].Details), "account opening") {
			t.Fatalf("audit = %+v", ev)
		}

		// Declined.
		if err := f.a.AnswerPresentation(ctx, pr2.ID, authority.PresentationResponse{State: pr2.ID, Error: "access_denied"}); err != nil {
			t.Fatal(err)
		}
		if out, _ := f.a.PresentationResult(ctx, bank, pr2.ID); out.State != store.VPDeclined {
			t.Errorf("declined = %+v", out)
		}

		// Expired.
		pr3, _ := f.a.CreatePresentation(ctx, bank, dcql(want...), "account opening")
		req3 := walletRequest(t, f, pr3)
		vp3 := present(req3, want)
		f.clock.add(authority.PresentationTTL)
		code("expired", answer(pr3.ID, vp3), permit.ECodeNotFound)
		if out, _ := f.a.PresentationResult(ctx, bank, pr3.ID); out.State != "expired" {
			t.Errorf("expired = %+v", out)
		}
	})
}
