package web

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// Interoperability: the OpenWallet Foundation's oid4vc-ts client libraries
// (@openid4vc/openid4vci and @openid4vc/openid4vp, pinned in
// testdata/interop/package-lock.json), run by Node, against the server.
// .ci/run installs them with npm ci; elsewhere the tests skip without them,
// except under CI=true, where they must run.

// interopDir returns the harness directory, or skips (fails under CI).
func interopDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "interop"))
	_, errNode := exec.LookPath("node")
	_, errMods := os.Stat(filepath.Join(dir, "node_modules", "@openid4vc", "openid4vci"))
	if errNode != nil || errMods != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("interop harness not installed (node: %v, modules: %v): run npm ci in %s", errNode, errMods, dir)
		}
		t.Skip("node or the interop harness (npm ci in internal/web/testdata/interop) is missing")
	}
	return dir
}

// node runs a harness script and decodes the JSON it prints.
func node(t *testing.T, dir string, out any, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node %s: %v\n%s", script, err, stderr)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node %s printed %q: %v", script, b, err)
	}
}

// interopServer is the demo server, whose public URL is its own address,
// so that what the libraries fetch is what the metadata names.
func interopServer(t *testing.T, db *store.DB) (*httptest.Server, *authority.Authority, *notify.Outbox) {
	return pagesServer(t, db)
}

type issued struct {
	Configuration string          `json:"configuration"`
	Credential    string          `json:"credential"`
	HolderJWK     json.RawMessage `json:"holder_jwk"`
}

// issueWithLibrary makes a counter offer and lets the OpenID4VCI library
// redeem it.
func issueWithLibrary(t *testing.T, dir string, a *authority.Authority, outbox *notify.Outbox, kind permit.Kind, byValue bool) issued {
	t.Helper()
	o, err := a.OfferAtCounter(authority.WithActor(t.Context(), "officer:test"), authority.OfferRequest{Kind: kind,
		DocumentType: permit.HKHomeReturnPermit, DocumentNumber: "H12345678", Reason: permit.ReasonForgotten})
	if err != nil {
		t.Fatal(err)
	}
	msgs := outbox.Messages()
	uri := o.ByReference()
	if byValue {
		uri = o.ByValue()
	}
	var out issued
	node(t, dir, &out, "issue.mjs", uri, sixDigits.FindString(msgs[0].Text))
	return out
}

func holderKey(t *testing.T, raw json.RawMessage) *ecdsa.PrivateKey {
	t.Helper()
	var j struct{ X, Y, D string }
	json.Unmarshal(raw, &j)
	pub, err := credential.JWK{Kty: "EC", Crv: "P-256", X: j.X, Y: j.Y}.Key()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := base64.RawURLEncoding.DecodeString(j.D)
	k, err := ecdsa.ParseRawPrivateKey(pub.Curve, d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestInteropOID4VCI(t *testing.T) {
	dir := interopDir(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		_, a, outbox := interopServer(t, db)
		ctx := authority.WithActor(t.Context(), "test")

		// The e-permit, offered by reference: the gate accepts what the
		// library's wallet holds.
		ep := issueWithLibrary(t, dir, a, outbox, permit.TemporaryEPermit, false)
		raw, err := base64.RawURLEncoding.DecodeString(ep.Credential)
		if err != nil || ep.Configuration != authority.ConfigEPermit {
			t.Fatalf("e-permit = %+v %v", ep, err)
		}
		pres, err := credential.Present(raw, holderKey(t, ep.HolderJWK), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		gateClient, _, _ := a.AddClient(ctx, permit.RoleVerifier, "gate-1", "airline")
		res, err := a.VerifyPresentation(ctx, gateClient, credential.EncodeQR(pres), verify.UseFlight)
		if err != nil || res.Decision != verify.Accept {
			t.Fatalf("gate = %+v %v", res, err)
		}

		// The linkage proof, offered by value.
		lp := issueWithLibrary(t, dir, a, outbox, permit.LinkageProofKind, true)
		sd, err := credential.ParseSDJWT(lp.Credential)
		if err != nil || lp.Configuration != authority.ConfigLinkage || sd.VCT != credential.LinkageVCT {
			t.Fatalf("linkage = %+v %v", lp, err)
		}
	})
}

type presented struct {
	Status   int      `json:"status"`
	Body     string   `json:"body"`
	ClientID string   `json:"client_id"`
	Purpose  string   `json:"purpose"`
	Claims   []string `json:"claims"`
}

// The OpenID4VP library resolves an institution's request (checking the
// verifier attestation against the trust list), and its response is
// accepted; one disclosing more than asked is refused.
func TestInteropOID4VP(t *testing.T) {
	dir := interopDir(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, outbox := interopServer(t, db)
		lp := issueWithLibrary(t, dir, a, outbox, permit.LinkageProofKind, false)
		_, bankKey, _ := a.AddClient(authority.WithActor(t.Context(), "test"), permit.RoleInstitution, "bank-1", "bank")
		q := map[string]any{"credentials": []any{map[string]any{"id": "linkage", "format": "dc+sd-jwt",
			"meta":   map[string]any{"vct_values": []string{credential.LinkageVCT}},
			"claims": []any{map[string]any{"path": []string{"travel_permit_number"}}, map[string]any{"path": []string{"residence_permit_number"}}}}}}
		newRequest := func() map[string]any {
			code, pr := call(t, "POST", srv.URL+"/api/v1/presentations", bankKey, map[string]any{"dcql_query": q, "purpose": "account opening"}, nil)
			if code != 201 {
				t.Fatalf("create = %d %v", code, pr)
			}
			return pr
		}

		pr := newRequest()
		var more presented
		node(t, dir, &more, "present.mjs", pr["authorization_request"].(string), lp.Credential, string(lp.HolderJWK), "name")
		if more.Status != 400 || !strings.Contains(more.Body, "invalid_presentation") {
			t.Fatalf("more claims than asked = %+v", more)
		}
		var ok presented
		node(t, dir, &ok, "present.mjs", pr["authorization_request"].(string), lp.Credential, string(lp.HolderJWK))
		if ok.Status != 200 || ok.ClientID != "verifier_attestation:bank-1" || ok.Purpose != "account opening" {
			t.Fatalf("presentation = %+v", ok)
		}
		code, res := call(t, "GET", srv.URL+"/api/v1/presentations/"+pr["transaction_id"].(string), bankKey, nil, nil)
		if code != 200 || res["state"] != "answered" || len(res["result"].(map[string]any)["claims"].(map[string]any)) != 2 {
			t.Fatalf("result = %d %v", code, res)
		}
	})
}
