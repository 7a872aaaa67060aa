package web

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// Browser tests drive Debian's Chromium through the pages, as a person
// would. Run with -screenshots DIR to also write the README's screenshots:
//
//	go test ./internal/web -run TestBrowserWholePath -screenshots ../../docs/screenshots
var screenshotDir = flag.String("screenshots", "", "write page screenshots into this directory")

// chromium returns the browser to drive, or skips the test when there is
// none — except in CI (CI=true), where a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("EPERMIT_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is required in CI: apt-get install -y chromium (or set EPERMIT_CHROMIUM)")
	}
	t.Skip("Chromium not found at /usr/bin/chromium: install it with `apt-get install -y chromium` to run the browser tests")
	return ""
}

// browser starts a headless Chromium fit for a root container: no sandbox,
// a phone-sized window, and a fake camera that always grants access; more
// options may follow.
func browser(t *testing.T, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.WindowSize(412, 915),
	)
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser now, so its failure is reported as such
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// acceptLanguage makes the tab send this Accept-Language, as a phone set
// to that language would.
func acceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang}})
		return err
	})
}

// stepTimeout bounds one do or value call, so that a step that never
// completes fails alone and leaves the page to be read.
const stepTimeout = time.Minute

// step returns ctx with stepTimeout. A tab not yet open is opened first
// on ctx itself: chromedp ties a tab to the context of its first Run, and
// the step's context ends with the step.
func step(ctx context.Context) (context.Context, context.CancelFunc) {
	if c := chromedp.FromContext(ctx); c != nil && c.Target == nil {
		chromedp.Do(ctx)
	}
	return context.WithTimeout(ctx, stepTimeout)
}

// do runs browser steps, failing the test with what was being done and
// the error messages the page shows, if any.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v; the page shows: %q", what, err, pageAlerts(ctx))
	}
}

// pageAlerts returns the text of the page's visible alerts and status
// lines, to tell why a step did not complete.
func pageAlerts(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(
		'[role=alert]:not([hidden]), [role=status]:not([hidden])')).map(e => e.id + ": " + e.textContent.trim()).join(" | ")`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return text
}

// get runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := step(ctx)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pagesServer is the server as `epermit demo` runs it (outbox codes, demo
// face, a small fictional registry), with cookies allowed over plain http.
// Its public URL is its own address, as the pages' Origin checks need.
func pagesServer(t *testing.T, db *store.DB) (*httptest.Server, *authority.Authority, *notify.Outbox) {
	t.Helper()
	return pagesServerWith(t, db, permit.Policy{})
}

// pagesServerWith is pagesServer under an issuance policy (the zero
// Policy for today's rules).
func pagesServerWith(t *testing.T, db *store.DB, policy permit.Policy) (*httptest.Server, *authority.Authority, *notify.Outbox) {
	t.Helper()
	return pagesServerWrapped(t, db, policy, nil)
}

// pagesServerWrapped is pagesServerWith whose handler wrap (when not nil)
// may answer some requests itself.
func pagesServerWrapped(t *testing.T, db *store.DB, policy permit.Policy, wrap func(http.Handler) http.Handler) (*httptest.Server, *authority.Authority, *notify.Outbox) {
	t.Helper()
	outbox := &notify.Outbox{}
	srv := httptest.NewUnstartedServer(nil)
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "http://" + srv.Listener.Addr().String(),
		Notifier: outbox, FaceMode: authority.FaceDemo, Demo: true, Policy: policy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seedRegistry(t, a, 5)
	srv.Config.Handler = New(a, slog.New(slog.DiscardHandler),
		Options{Outbox: outbox, RateLimit: 1000, RateBurst: 1000, InsecureCookies: true})
	if wrap != nil {
		srv.Config.Handler = wrap(srv.Config.Handler)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, a, outbox
}

// qrOf screenshots the wallet's QR canvas and decodes it as a scanner
// would, checking the symbol is what spec §3 asks for: error correction M,
// and no byte-mode segment (the whole text is alphanumeric mode).
func qrOf(t *testing.T, ctx context.Context) string {
	text, _ := qrShot(t, ctx)
	return text
}

// qrShot is qrOf that also returns the screenshot (PNG).
func qrShot(t *testing.T, ctx context.Context) (string, []byte) {
	t.Helper()
	shot := value(t, ctx, chromedp.Screenshot(chromedp.ID("qr")))
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	text, err := qrcode.Decode(img)
	if err != nil {
		t.Fatalf("decoding the wallet's QR: %v", err)
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	// A clean rendering first, as internal/qrcode does; the camera-style
	// search alone sometimes misses the finder patterns of a screenshot.
	reader := zxqr.NewQRCodeReader()
	res, err := reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		res, err = reader.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	}
	if err != nil {
		t.Fatalf("decoding the wallet's QR for its metadata: %v", err)
	}
	md := res.GetResultMetadata()
	if ec := md[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; ec != "M" {
		t.Errorf("QR error correction %v; want M", ec)
	}
	if _, ok := md[gozxing.ResultMetadataType_BYTE_SEGMENTS]; ok {
		t.Errorf("QR has a byte-mode segment; want alphanumeric mode only")
	}
	return text, shot
}

// screenshot writes the page to the -screenshots directory: the whole page,
// or the phone-sized view from element from down.
func screenshot(t *testing.T, ctx context.Context, name string, from string) {
	t.Helper()
	if *screenshotDir == "" {
		return
	}
	var b []byte
	if from == "" {
		b = value(t, ctx, chromedp.FullScreenshot(100))
	} else {
		do(t, ctx, "scroll", chromedp.Evaluate[chromedp.Void](`document.getElementById("`+from+`").scrollIntoView()`))
		b = value(t, ctx, chromedp.CaptureScreenshot())
	}
	if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshotDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// gateTab opens the gate page of srv in English in a new tab of ctx's
// browser and enters the verifier's key; wait holds what else the page
// must show before that. The tab closes when t ends.
func gateTab(t *testing.T, ctx context.Context, srv *httptest.Server, key string, wait ...chromedp.Action[chromedp.Void]) context.Context {
	t.Helper()
	gate, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	steps := []chromedp.Action[chromedp.Void]{
		acceptLanguage("en"),
		chromedp.Navigate(srv.URL + "/gate"),
		chromedp.WaitVisible(chromedp.ID("gate-form")),
	}
	do(t, gate, "gate page", append(append(steps, wait...), chromedp.SendKeys(chromedp.ID("api-key"), key))...)
	return gate
}

// gateCheck submits QR text on the gate page and returns the decision and
// code the page shows.
func gateCheck(t *testing.T, ctx context.Context, text, use string) (decision, code, reason string) {
	t.Helper()
	do(t, ctx, "gate check",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("result").hidden = true`),
		chromedp.SetValue(chromedp.ID("qr-text"), text),
		chromedp.Click(chromedp.ID("use-"+use)),
		chromedp.Click(chromedp.ID("gate-submit")),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	decision = value(t, ctx, chromedp.AttributeValue(chromedp.ID("result"), "data-decision")).Value
	code = value(t, ctx, chromedp.AttributeValue(chromedp.ID("result"), "data-code")).Value
	reason = value(t, ctx, chromedp.Text(chromedp.ID("verdict-reason")))
	return decision, code, reason
}

// TestBrowserWholePath walks the applicant's whole path in Chromium and
// checks the result with the verify library and on the gate page: prove
// identity, apply, show the QR, verify it, cancel, see it revoked.
func TestBrowserWholePath(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		srv, a, outbox := pagesServer(t, db)
		actx := authority.WithActor(context.Background(), "test")
		_, verifierKey, err := a.AddClient(actx, permit.RoleVerifier, "Gate 1", "railway")
		if err != nil {
			t.Fatal(err)
		}
		type id = chromedp.ID

		// 1. Identity: details, the code from the outbox, the camera.
		// The number in lower case, as a phone's keyboard may type it: the
		// server reads it in upper case.
		enterDetails(t, ctx, srv, "h12345678")
		if n := len(outbox.Messages()); n != 1 {
			t.Fatalf("outbox holds %d messages; want the one code", n)
		}
		codeAndFace(t, ctx, outbox)
		// The rules in plain words, with this applicant's numbers.
		rules := shownRules(t, ctx)
		for _, want := range []string{"valid for 7 days", "2 of 2 applications left", "only for domestic flights and trains", "not for exit or entry at border control"} {
			if !strings.Contains(rules, want) {
				t.Errorf("rules shown before applying lack %q:\n%s", want, rules)
			}
		}

		// 2. Apply: the browser makes its key and signs the nonce.
		applyInBrowser(t, ctx)
		if loc := value(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/wallet") {
			t.Errorf("after applying the browser is at %s; want /wallet", loc)
		}
		// The key is not extractable: no script can read it out.
		if value(t, ctx, chromedp.Evaluate[bool](`EP.wallet.all().then(es => es.length === 1 && es[0].key.extractable === false && es[0].key.type === "private")`,
			chromedp.EvalAwaitPromise)) != true {
			t.Error("the wallet does not hold exactly one non-extractable private key")
		}

		// 3. The QR as a scanner reads it, checked by the verify library
		// against the authority's trust list.
		qr1 := qrOf(t, ctx)
		r := verify.New(trustOf(t, a), nil, verify.Policy{Use: verify.UseTrain}).Verify(context.Background(), qr1, time.Now())
		// Offline (no status source) the honest answer is "accepted, status
		// unknown".
		if r.Decision != verify.AcceptWithWarning || r.Holder == nil || r.Holder.DocumentNumber != "H12345678" {
			t.Fatalf("verify library on the wallet's QR: %+v", r)
		}
		screenshot(t, ctx, "wallet.png", "")

		// 4. The gate page accepts it, online.
		gate := gateTab(t, ctx, srv, verifierKey)
		if d, c, reason := gateCheck(t, gate, qr1, "train"); d != "accept" {
			t.Fatalf("gate on a fresh QR: %s %s (%s); want accept", d, c, reason)
		}
		do(t, gate, "portrait", chromedp.WaitVisible(id("portrait")))
		if doc := value(t, gate, chromedp.Text(id("r-doc"))); !strings.Contains(doc, "H12345678") {
			t.Errorf("gate shows document %q", doc)
		}
		screenshot(t, gate, "gate-accept.png", "result")
		if d, c, _ := gateCheck(t, gate, qr1, "train"); d != "reject" || c != "replayed" {
			t.Errorf("gate on the same QR again: %s %s; want reject replayed", d, c)
		}

		// 5. A new QR, then the holder cancels: the gate says revoked.
		iat := value(t, ctx, chromedp.AttributeValue(id("qr"), "data-iat")).Value
		time.Sleep(1100 * time.Millisecond) // proofs carry whole seconds
		do(t, ctx, "new QR",
			chromedp.Click(id("qr-now")),
			chromedp.Poll[chromedp.Void](`document.getElementById("qr").dataset.iat !== "`+iat+`"`),
		)
		qr2, png2 := qrShot(t, ctx)
		if qr2 == qr1 {
			t.Fatal("the QR did not change")
		}
		// The gate reads an uploaded picture of the QR with the vendored jsQR.
		pngPath := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(pngPath, png2, 0o644); err != nil {
			t.Fatal(err)
		}
		do(t, gate, "upload the QR image",
			chromedp.Click(id("next-scan")),
			chromedp.SetUploadFiles(id("qr-file"), []string{pngPath}),
			chromedp.Poll[chromedp.Void](`document.getElementById("qr-text").value.startsWith("EP1:")`),
		)
		if got := value(t, gate, chromedp.Value(id("qr-text"))); got != qr2 {
			t.Errorf("the gate read %q from the uploaded image; want %q", got, qr2)
		}
		do(t, ctx, "cancel",
			chromedp.Click(id("cancel-start")),
			chromedp.Click(id("cancel-yes")),
			chromedp.WaitNotVisible(id("qr-box")),
		)
		if state := value(t, ctx, chromedp.Text(id("card-state"))); state != httpx.Messages("en")["card.state.cancelled"] {
			t.Errorf("wallet after cancel says %q", state)
		}
		// A cancelled e-permit has no time left, now or a tick later.
		time.Sleep(1100 * time.Millisecond)
		if left := value(t, ctx, chromedp.Text(id("h-left"))); left != "—" {
			t.Errorf("wallet after cancel shows time left %q; want —", left)
		}
		// The device holds the status list it fetched before the cancel,
		// young enough to use, so the authority is asked online (a setting
		// of the page), which reads its entries at once.
		do(t, gate, "online setting", chromedp.Click(id("online-mode")))
		d, c, reason := gateCheck(t, gate, qr2, "flight")
		if d != "reject" || c != "revoked" || reason != httpx.Messages("en")["code.revoked"] {
			t.Errorf("gate after cancel: %s %s %q; want reject revoked", d, c, reason)
		}
		if where := value(t, gate, chromedp.AttributeValue(id("result"), "data-where")).Value; where != "online" {
			t.Errorf("the check after cancel was made %s; want online", where)
		}
		screenshot(t, gate, "gate-revoked.png", "result")
	})
}

// TestBrowserLanguageSwitch: the page follows Accept-Language until the
// visible switch is used, and the choice then sticks across pages.
func TestBrowserLanguageSwitch(t *testing.T) {
	ctx := browser(t)
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	lang := func() string { return value(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`)) }
	h1 := func() string { return value(t, ctx, chromedp.Text(chromedp.CSS("h1"))) }

	do(t, ctx, "open home", acceptLanguage("zh-CN,zh;q=0.9"), chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if lang() != "zh-Hans" || h1() != httpx.Messages("zh-Hans")["home.title"] {
		t.Fatalf("with Accept-Language zh-CN: lang %s, h1 %q", lang(), h1())
	}
	steps := []struct{ click, path, want, title string }{
		{"en", "/", "en", "home.title"},
		{"", "/wallet", "en", "wallet.title"}, // the choice sticks
		{"zh-Hant", "/wallet", "zh-Hant", "wallet.title"},
	}
	for _, s := range steps {
		if s.click != "" {
			// The click navigates: wait for the new page's load.
			if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
				chromedp.Click(chromedp.CSS(`.langs a[hreflang="`+s.click+`"]`)))); err != nil {
				t.Fatalf("switch to %s: %v", s.click, err)
			}
		} else {
			do(t, ctx, "open "+s.path, chromedp.Navigate(srv.URL+s.path), chromedp.WaitVisible(chromedp.CSS("h1")))
		}
		if loc := value(t, ctx, chromedp.Location()); loc != srv.URL+s.path {
			t.Errorf("at %s; want %s (no state in the URL)", loc, srv.URL+s.path)
		}
		if lang() != s.want || h1() != httpx.Messages(s.want)[s.title] {
			t.Errorf("after %+v: lang %s, h1 %q", s, lang(), h1())
		}
	}
	if cur := value(t, ctx, chromedp.Text(chromedp.CSS(`.langs a[aria-current]`))); cur != "繁體中文" {
		t.Errorf("the switch marks %q as current", cur)
	}
}

// TestBrowserAccessibility: every form control has a label, and the
// keyboard alone reaches the submit button, with a visible focus style.
func TestBrowserAccessibility(t *testing.T) {
	ctx := browser(t)
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	tests := []struct{ path, submit string }{
		{"/apply", "details-submit"},
		{"/gate", "gate-submit"},
	}
	for _, tc := range tests {
		do(t, ctx, "open "+tc.path, chromedp.Navigate(srv.URL+tc.path), chromedp.WaitVisible(chromedp.ID(tc.submit)))
		if n := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("input, select, textarea").length`)); n < 4 {
			t.Errorf("%s: only %d form controls found", tc.path, n)
		}
		checkLabelsAndKeyboard(t, ctx, tc.path, tc.submit, 40)
	}
}

// checkLabelsAndKeyboard checks the open page: every form control has a
// label, and Tab, starting at the skip link, reaches the button submit
// within maxTabs stops, which then shows a focus outline.
func checkLabelsAndKeyboard(t *testing.T, ctx context.Context, path, submit string, maxTabs int) {
	t.Helper()
	unlabelled := value(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("input, select, textarea"))
		.filter(e => e.type !== "hidden" && !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
		.map(e => e.id || e.name || e.outerHTML)`))
	if len(unlabelled) != 0 {
		t.Errorf("%s: controls without a label: %v", path, unlabelled)
	}
	var stops []string
	reached := false
	for i := 0; i < maxTabs && !reached; i++ {
		do(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		id := value(t, ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.className || document.activeElement.tagName`))
		stops = append(stops, id)
		reached = id == submit
	}
	if !reached {
		t.Errorf("%s: Tab never reached #%s; stops: %v", path, submit, stops)
		return
	}
	if stops[0] != "skip" {
		t.Errorf("%s: the first Tab stop is %q; want the skip link", path, stops[0])
	}
	if outline := value(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`)); outline == "none" {
		t.Errorf("%s: the focused button #%s has no outline", path, submit)
	}
}
