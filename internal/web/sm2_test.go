package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// With an SM2 issuer key (spec §1.1) the server publishes both suites in
// the trust list, serves SM2-signed status lists that verify with it, and
// the verification API the gate page calls accepts an SM2-signed e-permit.
func TestSM2OverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, rec := registryServer(t, db, Options{RateLimit: 1000, RateBurst: 1000})
		ctx := authority.WithActor(context.Background(), "test")
		k, err := a.RotateKeyWith(ctx, keys.SM2)
		if err != nil {
			t.Fatal(err)
		}
		_, key, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 7", "railway")
		if err != nil {
			t.Fatal(err)
		}
		h := issueToRecord(t, a, rec)
		c := h.cred
		status, body := call(t, "POST", srv.URL+"/api/v1/verify", key, map[string]string{"qr": h.qrAt(t, time.Now()), "use": "train"}, nil)
		if status != 200 || body["decision"] != "accept" {
			t.Fatalf("verify: %d %v", status, body)
		}

		resp, jwks := get(t, srv.URL+"/.well-known/jwks.json")
		if resp.StatusCode != 200 || !strings.Contains(jwks, `"crv":"SM2"`) || !strings.Contains(jwks, `"crv":"P-256"`) {
			t.Fatalf("trust list: %d %s", resp.StatusCode, jwks)
		}
		trust, err := verify.ParseTrustList([]byte(jwks), "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := trust.Key(k.Kid); !ok {
			t.Fatal("the SM2 key is not in the trust list")
		}
		for _, accept := range []string{credential.StatusListCWTType, credential.StatusListJWTType} {
			req, _ := http.NewRequest("GET", a.StatusListURI(c.StatusList), nil)
			req.URL.Scheme, req.URL.Host = "http", strings.TrimPrefix(srv.URL, "http://")
			req.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: status list %d, %v", accept, resp.StatusCode, err)
			}
			parse := credential.ParseStatusListCWT
			if accept == credential.StatusListJWTType {
				parse = credential.ParseStatusListJWT
			}
			l, err := parse(tok, trust.Key)
			if err != nil || l.Kid != k.Kid {
				t.Fatalf("%s: %v (kid %v)", accept, err, l)
			}
		}

		// The issuer metadata names the trust list's algorithms, the active
		// key's first: new credentials are SM2-signed, older ones ES256.
		_, md, _ := oauthCall(t, "GET", srv.URL+"/.well-known/openid-credential-issuer", "", "", "")
		configs, _ := md["credential_configurations_supported"].(map[string]any)
		link, _ := configs[authority.ConfigLinkage].(map[string]any)
		ep1, _ := configs[authority.ConfigEPermit].(map[string]any)
		if got := fmt.Sprint(link["credential_signing_alg_values_supported"]); got != "[SM2 ES256]" {
			t.Errorf("linkage proof signing algs %s, want [SM2 ES256]", got)
		}
		if got := fmt.Sprint(ep1["credential_signing_alg_values_supported"]); got != "[-70100 -7]" {
			t.Errorf("e-permit signing algs %s, want [-70100 -7]", got)
		}
	})
}
