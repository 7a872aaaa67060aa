package web

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// TestBrowserNewCodeTwice: "new code now" pressed twice at once gives two
// QR codes with different iat, and the gate accepts both; the gate's
// replay cache still refuses either one shown again.
func TestBrowserNewCodeTwice(t *testing.T) {
	ctx := browser(t)
	srv, a, outbox := pagesServer(t, storetest.Open(t, store.SQLite))
	_, verifierKey, err := a.AddClient(authority.WithActor(context.Background(), "test"), permit.RoleVerifier, "Gate 1", "railway")
	if err != nil {
		t.Fatal(err)
	}
	type id = chromedp.ID
	proveInBrowser(t, ctx, srv, outbox)
	applyInBrowser(t, ctx)
	// Record every QR text the wallet makes from here on, then tap twice.
	do(t, ctx, "tap twice",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const make = EPCose.qrText;
			window.made = [];
			EPCose.qrText = async function (c, k, iat) { const s = await make(c, k, iat); window.made.push({iat: iat, text: s}); return s; };
			const b = document.getElementById("qr-now");
			b.click(); b.click();
		})()`),
		chromedp.Poll[chromedp.Void](`window.made.length >= 2`),
	)
	type made struct {
		Iat  int64  `json:"iat"`
		Text string `json:"text"`
	}
	codes := value(t, ctx, chromedp.Evaluate[[]made](`window.made.slice(0, 2)`))
	if codes[0].Iat == codes[1].Iat {
		t.Errorf("two taps made two proofs with iat %d", codes[0].Iat)
	}
	gate := gateTab(t, ctx, srv, verifierKey)
	for i, c := range codes {
		if d, code, reason := gateCheck(t, gate, c.Text, "train"); d != "accept" {
			t.Errorf("gate on code %d (iat %d): %s %s (%s); want accept", i+1, c.Iat, d, code, reason)
		}
	}
	if d, code, _ := gateCheck(t, gate, codes[0].Text, "train"); d != "reject" || code != "replayed" {
		t.Errorf("gate on the first code again: %s %s; want reject replayed", d, code)
	}
}
