package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// heldPermit is an e-permit issued at the counter, with its device key.
type heldPermit struct {
	cred *permit.Credential
	key  *ecdsa.PrivateKey
}

// issueTo issues to the i-th person of the demo registry (pagesServer
// seeds the first five).
func issueTo(t *testing.T, a *authority.Authority, i int) heldPermit {
	t.Helper()
	return issueToRecord(t, a, demo.Registry(5)[i])
}

// issueToRecord issues at the counter to rec, on its first travel permit,
// for a new device key.
func issueToRecord(t *testing.T, a *authority.Authority, rec permit.Record) heldPermit {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tp := rec.TravelPermits[0]
	c, err := a.IssueAtCounter(authority.WithActor(context.Background(), "test"), tp.Type, tp.Number, permit.ReasonForgotten, &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return heldPermit{c, key}
}

// qrAt is a fresh QR of h made at at.
func (h heldPermit) qrAt(t *testing.T, at time.Time) string {
	t.Helper()
	return credential.EncodeQR(must(credential.Present(h.cred.Token, h.key, at)))
}

// gateReady opens the gate page and waits until it has loaded its trust
// data (and fetched what it could).
func gateReady(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "open the gate "+url,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("gate-form")),
		chromedp.Poll[chromedp.Void](`!!(window.EP && EP.gate)`),
		chromedp.Evaluate[chromedp.Void](`EP.gate.ready`, chromedp.EvalAwaitPromise),
	)
}

// TestBrowserGateOffline: after one online visit the gate page works with
// the network cut and the server gone. It reloads from its service worker,
// says it is offline, accepts a fresh QR, refuses the same QR again as
// replayed, refuses an e-permit revoked while it was online from the status
// list it keeps, and once that list is older than its validity (the device's
// clock a day later) accepts with the warning status_unknown, never revoked.
func TestBrowserGateOffline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page decides on the device: one engine is enough")
		}
		ctx := browser(t)
		srv, a, _ := pagesServer(t, db)
		type id = chromedp.ID
		kept, revoked := issueTo(t, a, 0), issueTo(t, a, 1)

		// Online: the first visit fetches the trust list, a scan fetches the
		// status list; the worker keeps the page.
		do(t, ctx, "language", acceptLanguage("en"))
		gateReady(t, ctx, srv.URL+"/gate")
		do(t, ctx, "service worker", chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`))
		if d, c, r := gateCheck(t, ctx, revoked.qrAt(t, time.Now()), "train"); d != "accept" {
			t.Fatalf("online, before the revocation: %s %s (%s); want accept", d, c, r)
		}
		if _, err := a.Revoke(authority.WithActor(context.Background(), "test"), revoked.cred.ID, "test"); err != nil {
			t.Fatal(err)
		}
		// Reloaded online, the page fetches every list it holds again.
		gateReady(t, ctx, srv.URL+"/gate")
		// A new issuer key reaches the page when it fetches the trust list
		// again: here at once, since a scan signed by a key it does not know
		// makes it refetch (at most once a minute: the test ages the page's
		// copy by a minute).
		if _, err := a.RotateKey(authority.WithActor(context.Background(), "test")); err != nil {
			t.Fatal(err)
		}
		rotated := issueTo(t, a, 2)
		do(t, ctx, "age the trust list", chromedp.Evaluate[chromedp.Void](`EP.gate.state.trustFetched -= 61`))
		if d, c, r := gateCheck(t, ctx, rotated.qrAt(t, time.Now()), "train"); d != "accept" {
			t.Errorf("online, an e-permit signed with the new key: %s %s (%s); want accept", d, c, r)
		}
		if s := value(t, ctx, chromedp.Text(id("data-state"))); !strings.Contains(s, "Trust list: 2 keys") {
			t.Errorf("after the key rotation the page's data state says %q; want 2 keys", s)
		}

		do(t, ctx, "go offline", offline())
		srv.Close()
		gateReady(t, ctx, srv.URL+"/gate")
		if fromWorker := value(t, ctx, chromedp.Evaluate[bool](`performance.getEntriesByType("navigation")[0].workerStart > 0`)); !fromWorker {
			t.Error("the reloaded page did not come through the service worker")
		}
		if net := value(t, ctx, chromedp.AttributeValue(id("net-state"), "data-online")).Value; net != "0" {
			t.Errorf("the page says online=%s; want it to say it is offline", net)
		}
		if s := value(t, ctx, chromedp.Text(id("data-state"))); !strings.Contains(s, "Trust list: 2 keys") || !strings.Contains(s, "Status list") {
			t.Errorf("the page's data state: %q", s)
		}

		fresh := kept.qrAt(t, time.Now())
		if d, c, r := gateCheck(t, ctx, fresh, "train"); d != "accept" {
			t.Errorf("offline, a fresh QR: %s %s (%s); want accept", d, c, r)
		}
		if where := value(t, ctx, chromedp.AttributeValue(id("result"), "data-where")).Value; where != "device" {
			t.Errorf("decided %s; want on the device", where)
		}
		if !value(t, ctx, chromedp.Evaluate[bool](`!document.getElementById("portrait-offline").hidden`)) {
			t.Error("offline, the page does not say to check the physical ID card")
		}
		if f := value(t, ctx, chromedp.Text(id("freshness"))); !strings.Contains(f, "Checked on this device") || !strings.Contains(f, "signed") {
			t.Errorf("freshness line %q", f)
		}
		// A reload keeps the replay cache.
		gateReady(t, ctx, srv.URL+"/gate")
		if d, c, _ := gateCheck(t, ctx, fresh, "train"); d != "reject" || c != "replayed" {
			t.Errorf("offline, the same QR again after a reload: %s %s; want reject replayed", d, c)
		}
		if d, c, _ := gateCheck(t, ctx, revoked.qrAt(t, time.Now()), "train"); d != "reject" || c != "revoked" {
			t.Errorf("offline, the e-permit revoked while online: %s %s; want reject revoked", d, c)
		}

		// A day and an hour later the list is past its exp (validity 24 h):
		// the status is unknown, the e-permit (7 days) still valid.
		later := 25 * time.Hour
		do(t, ctx, "the clock a day later", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`Date.now = ((f) => () => f() + %d)(Date.now.bind(Date))`, later.Milliseconds())))
		for _, h := range []heldPermit{kept, revoked} {
			d, c, r := gateCheck(t, ctx, h.qrAt(t, time.Now().Add(later)), "train")
			if d != "accept_with_warning" || !strings.Contains(r, "could not be checked") {
				t.Errorf("offline, a list past its validity: %s %s (%s); want accept_with_warning status_unknown", d, c, r)
			}
		}
		if usable := value(t, ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('#data-state li[data-kind=status]')).map(li => li.dataset.usable)`)); !slices.Equal(usable, []string{"0"}) {
			t.Errorf("the list's state shown: %v; want one list, too old", usable)
		}
	})
}

// TestBrowserGateScanTime measures the page's verifier from text to
// decision over 200 scans in headless Chromium, beside the Go verifier on
// the same 200 texts in the same run, and logs median and p95 of both.
// The goal (median ≤ 3 ms on the CI machine) is reported, not asserted:
// speed goals belong to benchmarks, and this machine is shared; the test
// fails only past 50 ms, which no healthy run comes near.
func TestBrowserGateScanTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page decides on the device: one engine is enough")
		}
		ctx := browser(t)
		srv, a, _ := pagesServer(t, db)
		// 200 distinct presentations: four e-permits (one a person), 50
		// proofs each, their times spread over the proof window.
		gateReady(t, ctx, srv.URL+"/gate")
		now := time.Now()
		var texts []string
		for p := range 4 {
			h := issueTo(t, a, p)
			for i := range 50 {
				texts = append(texts, h.qrAt(t, now.Add(time.Duration(i-25)*time.Second)))
			}
		}
		// The status list is fetched once, as a gate holds it.
		jsonTexts := string(must(json.Marshal(texts)))
		type timing struct {
			Times     []float64 `json:"times"`
			Decisions []string  `json:"decisions"`
		}
		got := value(t, ctx, chromedp.Evaluate[timing](`(async (texts) => {
			const st = EP.gate.state, now = Math.floor(Date.now() / 1000);
			await EP1.verify(texts[0], now, { trust: st.trust, status: st.status, replay: new EP1.ReplayCache(1), policy: { use: "train" } });
			const uri = EP1.parseQR(texts[0]).claims.uri;
			const r = await fetch(uri); await st.status.offer(uri, new Uint8Array(await r.arrayBuffer()), st.trust, now);
			const replay = new EP1.ReplayCache(100000), times = [], decisions = [];
			for (const text of texts) {
				const t0 = performance.now();
				const res = await EP1.verify(text, Math.floor(Date.now() / 1000), { trust: st.trust, status: st.status, replay, policy: { use: "train" } });
				times.push(performance.now() - t0);
				decisions.push(res.decision + (res.code ? " " + res.code : ""));
			}
			return { times, decisions };
		})(`+jsonTexts+`)`, chromedp.EvalAwaitPromise))
		for i, d := range got.Decisions {
			if d != "accept" {
				t.Fatalf("scan %d: %s; want accept", i, d)
			}
		}
		trust := trustOf(t, a)
		status := verify.NewStatusCache(trust, verify.StatusCacheOptions{})
		v := verify.New(trust, status, verify.Policy{Use: verify.UseTrain})
		v.Verify(context.Background(), texts[0], time.Now()) // fetch the list once
		v.Replay = verify.NewReplayCache(verify.DefaultReplayCapacity)
		goTimes := make([]float64, len(texts))
		for i, text := range texts {
			t0 := time.Now()
			r := v.Verify(context.Background(), text, time.Now())
			goTimes[i] = float64(time.Since(t0).Microseconds()) / 1000
			if r.Decision != verify.Accept {
				t.Fatalf("Go verifier, scan %d: %s %s", i, r.Decision, r.Code)
			}
		}
		pm, p95 := medianP95(got.Times)
		gm, g95 := medianP95(goTimes)
		t.Logf("per scan, text to decision, 200 scans: page (headless Chromium) median %.3f ms, p95 %.3f ms; Go verifier median %.3f ms, p95 %.3f ms", pm, p95, gm, g95)
		if pm > 50 {
			t.Errorf("the page's median scan took %.1f ms", pm)
		}
	})
}

func medianP95(xs []float64) (float64, float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*95/100]
}

// TestBrowserGateResultNarrow: the gate's result holds from 320 px up: no
// value wraps inside itself, nothing overlaps and nothing runs off the
// screen, at 320, 360 and 412 px.
func TestBrowserGateResultNarrow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("layout only: one engine is enough")
		}
		srv, a, _ := pagesServer(t, db)
		_, key, err := a.AddClient(authority.WithActor(context.Background(), "test"), permit.RoleVerifier, "Gate 1", "railway")
		if err != nil {
			t.Fatal(err)
		}
		h := issueTo(t, a, 0)
		for _, width := range []int{320, 360, 412} {
			t.Run(fmt.Sprint(width), func(t *testing.T) {
				ctx := browser(t)
				do(t, ctx, "phone width", acceptLanguage("en"), phoneWidth(width))
				gateReady(t, ctx, srv.URL+"/gate")
				do(t, ctx, "key", chromedp.SendKeys(chromedp.ID("api-key"), key))
				if d, c, r := gateCheck(t, ctx, h.qrAt(t, time.Now()), "train"); d != "accept" {
					t.Fatalf("%s %s (%s)", d, c, r)
				}
				do(t, ctx, "portrait", chromedp.WaitVisible(chromedp.ID("portrait")),
					chromedp.Poll[chromedp.Void](`document.getElementById("portrait").complete`))
				type box struct {
					ID                       string
					Lines                    int
					Left, Top, Right, Bottom float64
				}
				// Each part of a value (a span: a number, a date, a name, one
				// use) is measured by its text, which may run past its box.
				boxes := value(t, ctx, chromedp.Evaluate[[]box](`(() => {
					const out = [];
					const measure = (id, e, words) => {
						const r = document.createRange(); r.selectNodeContents(e);
						const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
						if (words) { // may wrap between its words: each line on its own
							rects.forEach((x, i) => out.push({ ID: id + " line " + (i + 1), Lines: 1, Left: x.left, Top: x.top, Right: x.right, Bottom: x.bottom }));
							return;
						}
						const b = r.getBoundingClientRect();
						out.push({ ID: id, Lines: new Set(rects.map(x => Math.round(x.top))).size,
							Left: b.left, Top: b.top, Right: b.right, Bottom: b.bottom });
					};
					for (const dd of document.querySelectorAll("#result-holder dd")) {
						dd.querySelectorAll(".v").forEach((v, i) => measure(dd.id + "[" + i + "]", v, v.classList.contains("words")));
					}
					const p = document.getElementById("portrait").getBoundingClientRect();
					out.push({ ID: "portrait", Lines: 1, Left: p.left, Top: p.top, Right: p.right, Bottom: p.bottom });
					return out;
				})()`))
				vw := value(t, ctx, chromedp.Evaluate[float64](`document.documentElement.clientWidth`))
				if vw > float64(width) {
					t.Fatalf("the page is %v px wide; want at most %d", vw, width)
				}
				for i, b := range boxes {
					if b.Lines != 1 {
						t.Errorf("%s wraps onto %d lines", b.ID, b.Lines)
					}
					if b.Left < 0 || b.Right > vw+0.5 {
						t.Errorf("%s runs off the %v px screen: %v–%v", b.ID, vw, b.Left, b.Right)
					}
					for _, o := range boxes[i+1:] {
						if b.Left < o.Right-0.5 && o.Left < b.Right-0.5 && b.Top < o.Bottom-0.5 && o.Top < b.Bottom-0.5 {
							t.Errorf("%s overlaps %s", b.ID, o.ID)
						}
					}
				}
				screenshot(t, ctx, fmt.Sprintf("gate-%d.png", width), "result")
				if len(boxes) < 10 {
					t.Errorf("measured %d boxes; want the portrait and the 9 parts of 7 values", len(boxes))
				}
			})
		}
	})
}

// phoneWidth makes the tab a phone screen width CSS pixels wide: the
// window cannot be made narrower than 500 px in headless Chromium, the
// emulated device can.
func phoneWidth(width int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(width), Height: 800, DeviceScaleFactor: 1, Mobile: true})
		return err
	})
}
