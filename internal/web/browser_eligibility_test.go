package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// TestBrowserEarlyRefusal: an applicant whose month's quota is used learns
// it right after the code step, in plain words with the date they may
// apply again, and is not sent on to the face check.
func TestBrowserEarlyRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		srv, a, outbox := pagesServer(t, db)
		actx := authority.WithActor(context.Background(), "cli:test")
		for range 2 {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if _, err := a.IssueAtCounter(actx, permit.HKHomeReturnPermit, "H12345678", permit.ReasonLost, &k.PublicKey); err != nil {
				t.Fatal(err)
			}
		}
		type id = chromedp.ID
		enterDetails(t, ctx, srv, "H12345678")
		do(t, ctx, "code step",
			chromedp.SendKeys(id("code"), sixDigits.FindString(outbox.Messages()[0].Text)),
			chromedp.Click(id("code-submit")),
			chromedp.WaitVisible(id("step-ineligible")),
		)
		text := value(t, ctx, chromedp.Text(id("ineligible-text")))
		en := httpx.Messages("en")
		if !strings.HasPrefix(text, en["err.quota_exceeded"]) || !strings.Contains(text, "You can apply again from ") {
			t.Errorf("the refusal says %q; want the quota message and the next date", text)
		}
		if value(t, ctx, chromedp.Evaluate[bool](`document.getElementById("step-face").hidden && document.getElementById("step-apply").hidden`)) != true {
			t.Error("the face or apply step is shown to an applicant the rules refuse")
		}
	})
}
