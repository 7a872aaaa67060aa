package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// TestBrowserOID4VC: a counter officer offers an e-permit in the console;
// the wallet page in a second browser profile redeems it with the code
// from the outbox and its QR is accepted at the gate. A linkage proof
// offered online goes to the same wallet, which answers an institution's
// OpenID4VP request after showing who asks, why and for what; the
// institution reads the result back.
func TestBrowserOID4VC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, outbox := interopServer(t, db)
		api := srv.URL + "/api/v1"
		actx := authority.WithActor(t.Context(), "test")
		_, officerKey, _ := a.AddClient(actx, permit.RoleOfficer, "Wong", "officer")
		_, bankKey, _ := a.AddClient(actx, permit.RoleInstitution, "bank-1", "bank")
		_, gateKey, _ := a.AddClient(actx, permit.RoleVerifier, "gate-1", "airline")
		token := proveAPI(t, api, outbox) // the holder's online session, for the linkage offer below
		type id = chromedp.ID
		lastCode := func() string { return sixDigits.FindString(outbox.Messages()[0].Text) }

		// The officer's browser.
		officer := browser(t)
		do(t, officer, "sign in", acceptLanguage("en"), chromedp.Navigate(srv.URL+"/officer/"), chromedp.WaitVisible(id("signin-form")),
			chromedp.SendKeys(id("officer-name"), "Wong"), chromedp.SendKeys(id("officer-key"), officerKey))
		submit(t, officer, id("signin-submit"))
		do(t, officer, "issue page", chromedp.Navigate(srv.URL+"/officer/issue"), chromedp.WaitVisible(id("issue-form")),
			chromedp.SendKeys(id("issue-doc-number"), "H12345678"), chromedp.SetValue(id("issue-reason"), "forgotten"))
		submit(t, officer, id("offer-submit"))
		offer := value(t, officer, chromedp.Value(id("offer-uri")))
		if !strings.HasPrefix(offer, "openid-credential-offer://?credential_offer_uri=") {
			t.Fatalf("offer = %q; page: %q", offer, pageAlerts(officer))
		}
		do(t, officer, "the offer's QR loads", chromedp.Poll[chromedp.Void](`document.getElementById("offer-qr").naturalWidth > 0`))
		screenshot(t, officer, "officer-offer.png", "")

		// The holder's own phone: another browser profile.
		wallet := browser(t)
		do(t, wallet, "open the offer in the wallet", acceptLanguage("en"), chromedp.Navigate(srv.URL+"/wallet"),
			chromedp.WaitVisible(id("oid4vc-open")), chromedp.SetValue(id("oid4vc-link"), offer), chromedp.Click(id("oid4vc-open")),
			chromedp.WaitVisible(id("offer-panel")), chromedp.SendKeys(id("tx-code"), lastCode()), chromedp.Click(id("offer-redeem")),
			chromedp.WaitVisible(id("card")))
		qr := qrOf(t, wallet)
		gate := gateTab(t, officer, srv, gateKey) // the gate staff's tab
		if d, c, reason := gateCheck(t, gate, qr, "flight"); d != "accept" {
			t.Fatalf("the gate page on the wallet's QR: %s %s (%s)", d, c, reason)
		}

		// A linkage proof offered online, to the same wallet.
		code, o := call(t, "POST", api+"/offers", token, map[string]string{"kind": "linkage"}, nil)
		if code != 201 {
			t.Fatalf("online offer = %d %v", code, o)
		}
		do(t, wallet, "redeem the linkage offer", chromedp.SetValue(id("oid4vc-link"), o["credential_offer"].(string)),
			chromedp.Click(id("oid4vc-open")), chromedp.WaitVisible(id("offer-panel")), chromedp.SendKeys(id("tx-code"), lastCode()),
			chromedp.Click(id("offer-redeem")), chromedp.WaitVisible(chromedp.CSS(".linkage-item")))

		// An institution asks for the two permit numbers.
		q := map[string]any{"credentials": []any{map[string]any{"id": "linkage", "format": "dc+sd-jwt",
			"meta": map[string]any{"vct_values": []string{"urn:epermit:vct:permit-linkage:1"}},
			"claims": []any{map[string]any{"path": []string{"travel_permit_number"}},
				map[string]any{"path": []string{"residence_permit_number"}}}}}}
		code, pr := call(t, "POST", api+"/presentations", bankKey, map[string]any{"dcql_query": q, "purpose": "Opening an account"}, nil)
		if code != 201 {
			t.Fatalf("presentation request = %d %v", code, pr)
		}
		do(t, wallet, "open the request", chromedp.SetValue(id("oid4vc-link"), pr["authorization_request"].(string)),
			chromedp.Click(id("oid4vc-open")), chromedp.WaitVisible(id("vp-panel")))
		who, purpose := value(t, wallet, chromedp.Text(id("vp-who"))), value(t, wallet, chromedp.Text(id("vp-purpose")))
		claims := value(t, wallet, chromedp.Text(id("vp-claims")))
		if who != "bank-1" || purpose != "Opening an account" || !strings.Contains(claims, "Residence permit number") || strings.Contains(claims, "Date of birth") {
			t.Fatalf("the wallet shows %q, %q, %q", who, purpose, claims)
		}
		screenshot(t, wallet, "wallet-oid4vp.png", "")
		do(t, wallet, "consent", chromedp.Click(id("vp-accept")), chromedp.WaitVisible(id("oid4vc-done")))
		code, out := call(t, "GET", api+"/presentations/"+pr["transaction_id"].(string), bankKey, nil, nil)
		got, _ := out["result"].(map[string]any)
		if code != 200 || out["state"] != "answered" || len(got["claims"].(map[string]any)) != 2 {
			t.Fatalf("the institution reads %d %v", code, out)
		}
	})
}

// TestBrowserOID4VPRequestSM2: after a rotation to SM2 the request object
// is SM2-signed, which WebCrypto cannot check: the wallet page says so,
// instead of failing obscurely or calling the institution unregistered.
func TestBrowserOID4VPRequestSM2(t *testing.T) {
	srv, a, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	actx := authority.WithActor(t.Context(), "test")
	if _, err := a.RotateKeyWith(actx, keys.SM2); err != nil {
		t.Fatal(err)
	}
	_, bankKey, _ := a.AddClient(actx, permit.RoleInstitution, "bank-1", "bank")
	q := map[string]any{"credentials": []any{map[string]any{"id": "linkage", "format": "dc+sd-jwt",
		"meta":   map[string]any{"vct_values": []string{"urn:epermit:vct:permit-linkage:1"}},
		"claims": []any{map[string]any{"path": []string{"travel_permit_number"}}}}}}
	code, pr := call(t, "POST", srv.URL+"/api/v1/presentations", bankKey, map[string]any{"dcql_query": q, "purpose": "Opening an account"}, nil)
	if code != 201 {
		t.Fatalf("presentation request = %d %v", code, pr)
	}
	type id = chromedp.ID
	wallet := browser(t)
	do(t, wallet, "open the SM2-signed request", acceptLanguage("en"), chromedp.Navigate(srv.URL+"/wallet"),
		chromedp.WaitVisible(id("oid4vc-open")), chromedp.SetValue(id("oid4vc-link"), pr["authorization_request"].(string)),
		chromedp.Click(id("oid4vc-open")), chromedp.WaitVisible(id("oid4vc-error")))
	msg := value(t, wallet, chromedp.Text(id("oid4vc-error")))
	if !strings.Contains(msg, "signed with SM2") || !strings.Contains(msg, "WebCrypto") {
		t.Fatalf("the wallet says %q; want that SM2 cannot be checked here", msg)
	}
	if value(t, wallet, chromedp.Evaluate[bool](`!document.getElementById("vp-panel").hidden`)) {
		t.Fatal("the consent panel shows for a request the page could not check")
	}
}
