package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/verify"
)

// proveInBrowser takes the tab through identity proofing on /apply for
// demo record 0, up to the application form: the session cookie is set.
func proveInBrowser(t *testing.T, ctx context.Context, srv *httptest.Server, outbox *notify.Outbox) {
	t.Helper()
	enterDetails(t, ctx, srv, "H12345678")
	codeAndFace(t, ctx, outbox)
}

// enterDetails opens /apply in English and sends demo record 0's details
// with docNumber as written, up to the code field.
func enterDetails(t *testing.T, ctx context.Context, srv *httptest.Server, docNumber string) {
	t.Helper()
	type id = chromedp.ID
	do(t, ctx, "details step",
		acceptLanguage("en"),
		chromedp.Navigate(srv.URL+"/apply"),
		chromedp.WaitVisible(id("details-form")),
		chromedp.SetValue(id("doc-type"), "hk"),
		chromedp.SendKeys(id("doc-number"), docNumber),
		chromedp.SendKeys(id("name"), "CHAN TAI MAN"),
		chromedp.SetValue(id("birth-date"), "1990-01-01"),
		chromedp.Click(id("details-submit")),
		chromedp.WaitVisible(id("code")),
	)
}

// codeAndFace enters the newest code in the outbox and takes the face
// photo, up to the application form.
func codeAndFace(t *testing.T, ctx context.Context, outbox *notify.Outbox) {
	t.Helper()
	type id = chromedp.ID
	msgs := outbox.Messages()
	if len(msgs) == 0 {
		t.Fatal("no one-time code in the outbox")
	}
	do(t, ctx, "code and face steps",
		chromedp.SendKeys(id("code"), sixDigits.FindString(msgs[len(msgs)-1].Text)),
		chromedp.Click(id("code-submit")),
		chromedp.WaitVisible(id("camera-start")),
		chromedp.Click(id("camera-start")),
		chromedp.WaitEnabled(id("camera-shoot")),
		chromedp.Click(id("camera-shoot")),
		chromedp.WaitVisible(id("apply-form")),
	)
}

// shownRules is the rules the application form states, a line each.
func shownRules(t *testing.T, ctx context.Context) string {
	t.Helper()
	return strings.Join(value(t, ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#rules li")).map(li => li.textContent)`)), "\n")
}

// applyInBrowser acknowledges the rules and applies: the browser makes its
// key and signs the nonce, and the wallet draws its first QR. then runs
// after that, in the same step.
func applyInBrowser(t *testing.T, ctx context.Context, then ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	type id = chromedp.ID
	do(t, ctx, "apply", append([]chromedp.Action[chromedp.Void]{
		chromedp.Click(id("ack")),
		chromedp.Click(id("apply-submit")),
		chromedp.WaitVisible(id("qr")),
		chromedp.Poll[chromedp.Void](`document.getElementById("qr").dataset.iat`),
	}, then...)...)
}

// trustOf is the authority's trust list as a verifier would load it.
func trustOf(t *testing.T, a *authority.Authority) *verify.TrustList {
	t.Helper()
	set, err := a.TrustList(authority.WithActor(context.Background(), "test"))
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(set)
	trust, err := verify.ParseTrustList(jwks, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return trust
}

// toServer sends requests for the authority's public URL to the test
// server, so a verifier's status cache reaches the real status lists.
type toServer struct{ base *url.URL }

func (ts toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = ts.base.Scheme, ts.base.Host, ts.base.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestBrowserLinkageShare: a proven holder gets a linkage proof in the
// wallet, shares it twice with different claims, and each presentation the
// browser builds (KB-JWT signed by the non-extractable key) is accepted by
// verify.VerifyLinkage with only the chosen claims; the print link shows
// the result page; after the holder cancels, the status list says revoked.
func TestBrowserLinkageShare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		srv, a, outbox := pagesServer(t, db)
		type id = chromedp.ID
		proveInBrowser(t, ctx, srv, outbox)

		do(t, ctx, "request a linkage proof",
			chromedp.Navigate(srv.URL+"/wallet"),
			chromedp.WaitVisible(id("linkage-request")),
			// Both lists loaded, so the button has stopped moving.
			chromedp.WaitNotVisible(id("wallet-loading")),
			chromedp.WaitNotVisible(id("linkage-loading")),
			chromedp.Click(id("linkage-request")),
			chromedp.WaitVisible(chromedp.CSS(".linkage-item .share-start")),
		)
		rec := demo.Registry(1)[0]
		listed := value(t, ctx, chromedp.Text(chromedp.CSS(".linkage-item")))
		for _, want := range []string{"Home Return Permit (Hong Kong) H12345678", "Residence Permit for Hong Kong, Macau and Taiwan Residents " + rec.ResidencePermit.Number,
			"陳大文", "Valid until", httpx.Messages("en")["linkage.state.active"]} {
			if !strings.Contains(listed, want) {
				t.Errorf("the listed linkage proof lacks %q:\n%s", want, listed)
			}
		}
		if !value(t, ctx, chromedp.Evaluate[bool](`EP.linkage.all().then(es => es.length === 1 && es[0].key.extractable === false && es[0].key.type === "private")`,
			chromedp.EvalAwaitPromise)) {
			t.Error("the wallet does not hold exactly one linkage proof with a non-extractable private key")
		}
		cti := value(t, ctx, chromedp.AttributeValue(chromedp.CSS(".linkage-item"), "data-cti")).Value
		if len(cti) != 32 {
			t.Fatalf("linkage item cti %q", cti)
		}

		trust := trustOf(t, a)
		status := verify.NewStatusCache(trust, verify.StatusCacheOptions{
			Client: &http.Client{Transport: toServer{must(url.Parse(srv.URL))}, Timeout: 5 * time.Second}})
		shares := []struct {
			name      string
			aud       string
			nonce     string
			viaLink   bool     // paste the institution's link rather than type the fields
			toggle    []string // checkboxes clicked, from the default
			disclosed []string
		}{
			{name: "defaults typed", aud: "urn:bank:somewhere", nonce: "4f7a9c01",
				disclosed: []string{"residence_permit_number", "travel_permit_number"}},
			{name: "link and own choice", aud: "urn:telecom:other", nonce: "Zx-81_q", viaLink: true,
				toggle:    []string{"residence_permit_number", "name", "birth_date"},
				disclosed: []string{"birth_date", "name", "travel_permit_number"}},
		}
		var last string
		for _, sh := range shares {
			do(t, ctx, sh.name+": open the share form",
				chromedp.Click(chromedp.CSS(".linkage-item .share-start")),
				chromedp.WaitVisible(id("share-form")),
				chromedp.Evaluate[chromedp.Void](`for (const f of ["share-request", "share-aud", "share-nonce"]) document.getElementById(f).value = ""`),
			)
			// Every control of the share form has a label, checkboxes included.
			unlabelled := value(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#linkage input, #linkage textarea"))
				.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.id || e.outerHTML)`))
			if len(unlabelled) != 0 {
				t.Errorf("%s: share controls without a label: %v", sh.name, unlabelled)
			}
			if focused := value(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "share-h" {
				t.Errorf("%s: focus is on %q after opening the share form; want its heading", sh.name, focused)
			}
			if sh.viaLink {
				link := srv.URL + "/wallet#share?" + url.Values{"aud": {sh.aud}, "nonce": {sh.nonce}}.Encode()
				do(t, ctx, sh.name+": paste the link",
					chromedp.SendKeys(id("share-request"), link),
					chromedp.Evaluate[chromedp.Void](`document.getElementById("share-request").dispatchEvent(new Event("change"))`),
				)
			} else {
				do(t, ctx, sh.name+": type aud and nonce",
					chromedp.SendKeys(id("share-aud"), sh.aud),
					chromedp.SendKeys(id("share-nonce"), sh.nonce),
				)
			}
			for _, c := range sh.toggle {
				do(t, ctx, "tick "+c, chromedp.Click(id("claim-"+c)))
			}
			do(t, ctx, sh.name+": make the presentation",
				chromedp.Evaluate[chromedp.Void](`document.getElementById("share-text").value = ""`),
				chromedp.Click(id("share-submit")),
				chromedp.WaitVisible(id("share-result")),
				chromedp.Poll[chromedp.Void](`document.getElementById("share-text").value !== ""`),
			)
			text := value(t, ctx, chromedp.Value(id("share-text")))
			r := verify.VerifyLinkage(context.Background(), trust, status, text,
				verify.LinkagePolicy{Audience: sh.aud, Nonce: sh.nonce, Required: sh.disclosed}, time.Now())
			if r.Decision != verify.Accept {
				t.Fatalf("%s: VerifyLinkage on the browser's presentation: %+v", sh.name, r)
			}
			var got []string
			for k := range r.Claims {
				got = append(got, k)
			}
			sort.Strings(got)
			if !slices.Equal(got, sh.disclosed) {
				t.Errorf("%s: disclosed %v; want exactly %v", sh.name, got, sh.disclosed)
			}
			if r.Claims["travel_permit_number"] != "H12345678" {
				t.Errorf("%s: travel_permit_number %v", sh.name, r.Claims["travel_permit_number"])
			}
			// Bound to this institution's challenge: another nonce or
			// audience is refused.
			if r := verify.VerifyLinkage(context.Background(), trust, nil, text,
				verify.LinkagePolicy{Audience: sh.aud, Nonce: sh.nonce + "x"}, time.Now()); r.Code != verify.CodeNonce {
				t.Errorf("%s: with another nonce: %s %s; want nonce", sh.name, r.Decision, r.Code)
			}
			if r := verify.VerifyLinkage(context.Background(), trust, nil, text,
				verify.LinkagePolicy{Audience: "urn:someone:else", Nonce: sh.nonce}, time.Now()); r.Code != verify.CodeAudience {
				t.Errorf("%s: for another audience: %s %s; want aud", sh.name, r.Decision, r.Code)
			}
			// The QR holds the same text, as a scanner reads it.
			shot := value(t, ctx, chromedp.Screenshot(id("share-qr")))
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatal(err)
			}
			if qr, err := qrcode.Decode(img); err != nil || qr != text {
				t.Errorf("%s: the share QR reads %q, %v; want the presentation text", sh.name, qr, err)
			}
			last = text
		}
		screenshot(t, ctx, "wallet-linkage.png", "share-result")

		// Opened as the institution's link, the wallet fills in the form
		// and drops the request from the address.
		do(t, ctx, "open the institution's link",
			chromedp.Navigate(srv.URL+"/wallet#share?aud=urn%3Abank%3Alink&nonce=n0nce"),
			chromedp.WaitVisible(id("share-form")),
		)
		if aud, nonce, hash := value(t, ctx, chromedp.Value(id("share-aud"))), value(t, ctx, chromedp.Value(id("share-nonce"))),
			value(t, ctx, chromedp.Evaluate[string](`location.hash`)); aud != "urn:bank:link" || nonce != "n0nce" || hash != "" {
			t.Errorf("from the link: aud %q nonce %q, address fragment %q", aud, nonce, hash)
		}

		// Print: the link is the result page of this proof.
		href := value(t, ctx, chromedp.AttributeValue(chromedp.CSS(".linkage-item a.print"), "href")).Value
		if href != "/linkage/"+cti {
			t.Fatalf("print link %q; want /linkage/%s", href, cti)
		}
		resp, page := get(t, srv.URL+href)
		if resp.StatusCode != 200 || !strings.Contains(page, rec.ResidencePermit.Number) {
			t.Fatalf("result page %d lacks the residence permit number", resp.StatusCode)
		}

		// Cancel: the wallet says so, the result page stops showing data
		// and a verifier with the status list refuses the last presentation.
		do(t, ctx, "cancel the linkage proof",
			chromedp.Click(chromedp.CSS(".linkage-item .linkage-cancel")),
			chromedp.Click(chromedp.CSS(".linkage-item .linkage-cancel-yes")),
			chromedp.WaitVisible(chromedp.CSS(`.linkage-item .state[data-state="revoked"]`)),
		)
		if s := value(t, ctx, chromedp.Text(chromedp.CSS(".linkage-item .state"))); s != httpx.Messages("en")["linkage.state.cancelled"] {
			t.Errorf("wallet after cancel says %q", s)
		}
		if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".linkage-item .share-start").length`)); n != 0 {
			t.Errorf("a cancelled proof still offers %d share buttons", n)
		}
		if _, page := get(t, srv.URL+href); strings.Contains(page, rec.ResidencePermit.Number) {
			t.Error("the result page still shows the residence permit number after cancel")
		}
		fresh := verify.NewStatusCache(trust, verify.StatusCacheOptions{
			Client: &http.Client{Transport: toServer{must(url.Parse(srv.URL))}, Timeout: 5 * time.Second}})
		if r := verify.VerifyLinkage(context.Background(), trust, fresh, last,
			verify.LinkagePolicy{Audience: shares[1].aud, Nonce: shares[1].nonce}, time.Now()); r.Code != verify.CodeRevoked {
			t.Errorf("the last presentation after cancel: %s %s; want revoked", r.Decision, r.Code)
		}

		// Sign out: the session ends on the server, so the page's own calls
		// are refused from then on.
		do(t, ctx, "sign out",
			chromedp.WaitVisible(chromedp.ID("signout")),
			chromedp.Click(chromedp.ID("signout")),
			chromedp.WaitVisible(chromedp.ID("signed-out")),
		)
		me := value(t, ctx, chromedp.Evaluate[int](`fetch("/app/me").then(function (r) { return r.status; })`,
			chromedp.EvalAwaitPromise))
		if me != http.StatusUnauthorized {
			t.Errorf("GET /app/me after signing out = %d; want 401", me)
		}
	})
}

// TestBrowserLinkageNeedsSession: without identity proofing the wallet
// says to verify first, and nothing is stored.
func TestBrowserLinkageNeedsSession(t *testing.T) {
	ctx := browser(t)
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	do(t, ctx, "request without a session",
		acceptLanguage("en"),
		chromedp.Navigate(srv.URL+"/wallet"),
		chromedp.WaitNotVisible(chromedp.ID("linkage-loading")),
		chromedp.Click(chromedp.ID("linkage-request")),
		chromedp.WaitVisible(chromedp.ID("linkage-signin")),
	)
	if msg := value(t, ctx, chromedp.Text(chromedp.ID("linkage-error"))); msg != httpx.Messages("en")["linkage.signin.needed"] {
		t.Errorf("error shown %q", msg)
	}
	if n := value(t, ctx, chromedp.Evaluate[int](`EP.linkage.all().then(es => es.length)`, chromedp.EvalAwaitPromise)); n != 0 {
		t.Errorf("%d linkage proofs stored without a session", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// offline cuts the tab off the network, service worker included, and tells
// the page it is offline, as airplane mode would.
func offline() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		yes := true
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &yes,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// TestBrowserWalletOffline: after one visit the service worker keeps the
// wallet; with the network gone (emulated offline and the server shut
// down) a reload still shows the e-permit, and the QR is rebuilt every
// 15 s, each one accepted by the verify library.
func TestBrowserWalletOffline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		srv, a, outbox := pagesServer(t, db)
		type id = chromedp.ID
		proveInBrowser(t, ctx, srv, outbox)
		applyInBrowser(t, ctx,
			// The worker controls the page and has kept its files.
			chromedp.WaitVisible(id("offline-ready")),
			chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`),
		)
		walletURL := value(t, ctx, chromedp.Location())

		do(t, ctx, "go offline", offline())
		srv.Close() // no server either: nothing but the worker's copy can answer
		do(t, ctx, "reload offline",
			chromedp.Navigate(walletURL),
			chromedp.WaitVisible(id("card")),
			chromedp.WaitVisible(id("wallet-offline")),
			chromedp.Poll[chromedp.Void](`document.getElementById("qr").dataset.iat`),
		)
		if online := value(t, ctx, chromedp.Evaluate[bool](`navigator.onLine`)); online {
			t.Error("the page thinks it is online")
		}
		if fromWorker := value(t, ctx, chromedp.Evaluate[bool](`performance.getEntriesByType("navigation")[0].workerStart > 0`)); !fromWorker {
			t.Error("the reloaded page did not come through the service worker")
		}

		trust := trustOf(t, a)
		v := verify.New(trust, nil, verify.Policy{Use: verify.UseTrain})
		check := func(what string) string {
			t.Helper()
			text := qrOf(t, ctx)
			if r := v.Verify(context.Background(), text, time.Now()); r.Decision != verify.AcceptWithWarning || r.Holder == nil || r.Holder.DocumentNumber != "H12345678" {
				t.Fatalf("%s: verify library on the offline QR: %+v", what, r)
			}
			return text
		}
		qr1 := check("after the offline reload")
		iat := value(t, ctx, chromedp.AttributeValue(id("qr"), "data-iat")).Value
		// No click: the 15-second timer alone must rebuild it.
		start := time.Now()
		do(t, ctx, "wait for the next QR",
			chromedp.Poll[chromedp.Void](`document.getElementById("qr").dataset.iat !== "`+iat+`"`, chromedp.WithPollingTimeout(25*time.Second)),
		)
		if waited := time.Since(start); waited > 17*time.Second {
			t.Errorf("the QR changed after %v; want within 15 s", waited)
		}
		if qr2 := check("15 s later"); qr2 == qr1 {
			t.Error("the QR did not change")
		}
	})
}
