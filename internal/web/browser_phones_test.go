package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
)

// Pages on phones: layouts at 320, 360 and 412 px, touch targets, the
// installable wallet. Layout does not depend on the store, so these run on
// SQLite only.

// TestBrowserPhoneConsole: the officer lookup of a person with a long
// hyphenated name, and the verifier administration, hold at phone widths:
// no value breaks inside a word or hides under the portrait, the Status
// column stays on screen, nothing scrolls sideways; the console's
// navigation and language links are finger-sized.
func TestBrowserPhoneConsole(t *testing.T) {
	ctx := browser(t)
	e := newConsoleEnv(t, storetest.Open(t, store.SQLite))
	liang := demo.Registry(7)[6] // 梁詠志, LIANG, YUNG-CHIH: the name the audit saw broken
	var buf bytes.Buffer
	enc := registry.NewEncoder(&buf)
	enc.Encode(&liang)
	enc.Flush()
	if _, err := e.a.ImportRegistry(authority.WithActor(context.Background(), "test"), &buf, "test"); err != nil {
		t.Fatal(err)
	}
	type id = chromedp.ID
	do(t, ctx, "sign in", acceptLanguage("en"), chromedp.Navigate(e.srv.URL+"/officer/signin"), chromedp.WaitVisible(id("signin-form")),
		chromedp.SendKeys(id("officer-name"), "Lee"), chromedp.SendKeys(id("officer-key"), e.adminKey))
	submit(t, ctx, id("signin-submit"))
	do(t, ctx, "lookup", chromedp.Navigate(e.srv.URL+"/officer/lookup"), chromedp.WaitVisible(id("lookup-form")),
		chromedp.SetValue(id("doc-type"), "tw"), chromedp.SendKeys(id("doc-number"), liang.TravelPermits[0].Number))
	submit(t, ctx, id("lookup-submit"))
	if got := value(t, ctx, chromedp.Text(id("p-latin"))); got != "LIANG, YUNG-CHIH" {
		t.Fatalf("looked up %q", got)
	}
	checkPhoneLayout(t, ctx, "lookup", "#person dd, #permits th, #permits td", "#person-portrait")
	do(t, ctx, "at 320 px", atWidth(320))
	for _, s := range smallTargets(t, ctx, ".console-nav a, .langs a, #signout, #lookup-submit") {
		t.Errorf("lookup: %s", s)
	}

	do(t, ctx, "verifiers", chromedp.Navigate(e.srv.URL+"/officer/admin/verifier"), chromedp.WaitVisible(id("add-form")))
	checkPhoneLayout(t, ctx, "verifiers", "h1, #add-form label, #clients caption", "")
}

// TestBrowserPhoneLinkageResult: the printable linkage result follows the
// language choice, marks its second language, and holds at phone widths.
func TestBrowserPhoneLinkageResult(t *testing.T) {
	ctx := browser(t)
	srv, outbox := demoServer(t, storetest.Open(t, store.SQLite))
	api := srv.URL + "/api/v1"
	token := proveAPI(t, api, outbox)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := credential.NewJWK(&key.PublicKey)
	jwk.Kid = ""
	code, c := call(t, "POST", api+"/linkage", token, map[string]any{"holder_key": jwk, "signature": signNonce(t, api, token, key)}, nil)
	if code != 201 {
		t.Fatalf("issue = %d %v", code, c)
	}
	url := srv.URL + "/linkage/" + c["cti"].(string)

	lang := func() (main, also string) {
		main = value(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		also = value(t, ctx, chromedp.Evaluate[string](`(document.querySelector("main [lang]:not(.val)") || {}).lang || ""`))
		return main, also
	}
	do(t, ctx, "open the result in English", acceptLanguage("en"), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("main-title")))
	if m, a := lang(); m != "en" || a != "zh-Hans" {
		t.Errorf("English page: lang %q, second language %q; want en, zh-Hans", m, a)
	}
	if h := value(t, ctx, chromedp.Text(chromedp.ID("main-title"))); h != "Permit linkage result" {
		t.Errorf("English title %q", h)
	}
	checkPhoneLayout(t, ctx, "linkage result", ".val, th, h1", "figure img")

	do(t, ctx, "switch to Traditional Chinese", chromedp.Click(chromedp.CSS(`.langs a[lang="zh-Hant"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.langs a[lang="zh-Hant"][aria-current]`)))
	if m, a := lang(); m != "zh-Hant" || a != "en" {
		t.Errorf("Traditional Chinese page: lang %q, second language %q; want zh-Hant, en", m, a)
	}
	if h := value(t, ctx, chromedp.Text(chromedp.ID("main-title"))); h != "港澳台居民雙證關聯查詢結果" {
		t.Errorf("Traditional Chinese title %q", h)
	}
	checkPhoneLayout(t, ctx, "linkage result (zh-Hant)", ".val, th, h1", "figure img")
	for _, s := range smallTargets(t, ctx, ".langs a") {
		t.Errorf("linkage result: %s", s)
	}
}

// TestBrowserInstallableWallet: the wallet is an installable app: Chromium
// finds its manifest valid and reports no installability error, every icon
// is served at its declared size, the manifest's start URL is the wallet
// and the service worker controls it. Signed out, the wallet and the apply
// page log no console error (no 401, no missing favicon), the empty wallet
// holds at phone widths and its links are finger-sized.
func TestBrowserInstallableWallet(t *testing.T) {
	ctx := browser(t)
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	errs := consoleErrors(t, ctx)
	do(t, ctx, "open the wallet", acceptLanguage("en"), chromedp.Navigate(srv.URL+"/wallet"), chromedp.WaitVisible(chromedp.ID("wallet-empty")))
	if !value(t, ctx, chromedp.Evaluate[bool](`navigator.serviceWorker.ready.then(r => !!r.active)`, chromedp.EvalAwaitPromise)) {
		t.Fatal("no active service worker")
	}
	do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("wallet-empty")))

	m := value(t, ctx, chromedp.Action[page.GetAppManifestResult](func(ctx context.Context, tg *chromedp.Target) (page.GetAppManifestResult, error) {
		return cdp.Call(ctx, tg, page.GetAppManifest, page.GetAppManifestParams{})
	}))
	if len(m.Errors) > 0 || m.Manifest == nil {
		for _, e := range m.Errors {
			t.Errorf("manifest %s: %s", m.URL, e.Message)
		}
		t.Fatalf("manifest %s: not parsed", m.URL)
	}
	inst := value(t, ctx, chromedp.Action[page.GetInstallabilityErrorsResult](func(ctx context.Context, tg *chromedp.Target) (page.GetInstallabilityErrorsResult, error) {
		return cdp.Call(ctx, tg, page.GetInstallabilityErrors, cdp.Empty{})
	}))
	for _, e := range inst.InstallabilityErrors {
		t.Errorf("not installable: %s", e.ErrorID)
	}
	if m.Manifest.StartURL != srv.URL+"/wallet" {
		t.Errorf("start URL %q, want the wallet", m.Manifest.StartURL)
	}
	// The worker controls the start URL: this page was loaded through it.
	if got := value(t, ctx, chromedp.Evaluate[string](`(navigator.serviceWorker.controller || {}).scriptURL || ""`)); got != srv.URL+"/static/js/sw.js" {
		t.Errorf("the wallet is controlled by %q, want the wallet's worker", got)
	}
	icons := value(t, ctx, chromedp.Evaluate[[]string](`Promise.all(
	  JSON.parse(`+"`"+m.Data+"`"+`).icons.map(i => i.src).concat(["/favicon.ico", "/apple-touch-icon.png"])
	  .map(src => fetch(src).then(r => r.ok ? r.blob() : Promise.reject(new Error(src + ": " + r.status)))
	    .then(createImageBitmap).then(b => new URL(src, location.href).pathname + " " + b.width + "x" + b.height)))`, chromedp.EvalAwaitPromise))
	want := []string{"/static/icons/icon-192.png 192x192", "/static/icons/icon-512.png 512x512", "/favicon.ico 48x48", "/apple-touch-icon.png 180x180"}
	for _, w := range want {
		found := false
		for _, got := range icons {
			found = found || got == w
		}
		if !found {
			t.Errorf("icons %v lack %s", icons, w)
		}
	}

	checkPhoneLayout(t, ctx, "empty wallet", "h1, #wallet-empty p, #linkage-h", "")
	// The empty states fit the room kept for them while loading, so
	// nothing moved when they replaced the loading notes.
	for _, w := range phoneWidths {
		do(t, ctx, "wallet", atWidth(w))
		for _, over := range value(t, ctx, chromedp.Evaluate[[]string](`["wallet-slot", "linkage-slot"].map(function (id) {
		  var e = document.getElementById(id), kept = parseFloat(getComputedStyle(e).minHeight), h = e.getBoundingClientRect().height;
		  return h > kept + 0.5 ? id + " grew from " + kept + " to " + h + " px" : ""; }).filter(Boolean)`)) {
			t.Errorf("empty wallet at %d px: %s", w, over)
		}
	}
	for _, s := range smallTargets(t, ctx, ".langs a, #wallet-empty a") {
		t.Errorf("wallet: %s", s)
	}
	do(t, ctx, "apply page", chromedp.Navigate(srv.URL+"/apply"), chromedp.WaitVisible(chromedp.ID("details-form")))
	if cur := value(t, ctx, chromedp.Evaluate[string](`document.querySelector('.steps [aria-current="step"]').dataset.step`)); cur != "details" {
		t.Errorf("current step %q, want details", cur)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors while signed out: %s", strings.Join(e, "; "))
	}
}
