package web

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// TestBrowserPolicySwitches: with both switches of the policy file on, an
// applicant applies for the long-lived electronic permit in the browser;
// its credential carries the border scope, which the verify library and
// the gate page accept for border control. Under today's rules the gate
// page offers no border control and the online check refuses it.
func TestBrowserPolicySwitches(t *testing.T) {
	data, err := os.ReadFile("../../permit/testdata/policy/both.json")
	if err != nil {
		t.Fatal(err)
	}
	both, err := permit.ParsePolicy(data)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		srv, a, outbox := pagesServerWith(t, db, both)
		actx := authority.WithActor(context.Background(), "test")
		_, verifierKey, err := a.AddClient(actx, permit.RoleVerifier, "Border post", "railway")
		if err != nil {
			t.Fatal(err)
		}
		type id = chromedp.ID
		en := httpx.Messages("en")
		proveInBrowser(t, ctx, srv, outbox)
		do(t, ctx, "kind of permit",
			chromedp.WaitVisible(id("kind-field")),
			chromedp.Click(id("kind-electronic")),
			chromedp.WaitNotVisible(id("reason-field")),
		)
		rules := shownRules(t, ctx)
		for _, want := range []string{"valid for 365 days", "1 of 1 applications left", en["use.border"]} {
			if !strings.Contains(rules, want) {
				t.Errorf("rules of the electronic permit lack %q:\n%s", want, rules)
			}
		}
		applyInBrowser(t, ctx)
		if s := value(t, ctx, chromedp.Text(id("h-scopes"))); !strings.Contains(s, en["use.border"]) {
			t.Errorf("the wallet shows uses %q; want border control among them", s)
		}
		if value(t, ctx, chromedp.Evaluate[bool](`document.getElementById("h-notborder").hidden`)) != true {
			t.Error("the wallet says the e-permit is not for border control")
		}

		// The verify library, as a border post runs it.
		qr := qrOf(t, ctx)
		set, _ := a.TrustList(actx)
		jwks, _ := json.Marshal(set)
		trust, err := verify.ParseTrustList(jwks, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r := verify.New(trust, nil, verify.Policy{Use: verify.UseBorder}).Verify(context.Background(), qr, time.Now()); r.Decision != verify.AcceptWithWarning {
			t.Fatalf("verify library, border use: %+v", r)
		}

		// The gate page, border control.
		gate := gateTab(t, ctx, srv, verifierKey, chromedp.WaitVisible(id("use-border")))
		if d, c, reason := gateCheck(t, gate, qr, "border"); d != "accept" {
			t.Fatalf("gate, border control, electronic permit: %s %s (%s); want accept", d, c, reason)
		}

		// Today's rules: no border control on the gate page, and the
		// online check refuses it.
		srv2, a2, _ := pagesServer(t, storetest.Open(t, db.Engine()))
		_, key2, err := a2.AddClient(actx, permit.RoleVerifier, "Gate", "railway")
		if err != nil {
			t.Fatal(err)
		}
		do(t, gate, "gate page under today's rules",
			chromedp.Navigate(srv2.URL+"/gate"),
			chromedp.WaitVisible(id("gate-form")),
		)
		if value(t, gate, chromedp.Evaluate[bool](`document.getElementById("use-border") === null`)) != true {
			t.Error("the gate page offers border control under today's rules")
		}
		if code, p := call(t, "POST", srv2.URL+"/api/v1/verify", key2, map[string]string{"qr": qr, "use": "border"}, nil); code != 422 ||
			p["code"] != string(permit.ECodeScopeNotAllowed) {
			t.Errorf("online check for border control under today's rules = %d %v; want 422 scope_not_allowed", code, p)
		}
	})
}
