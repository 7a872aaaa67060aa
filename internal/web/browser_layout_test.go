package web

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
)

// Helpers for checking pages on phones, for any page's browser test.

// phoneWidths are the CSS widths a page must hold at: the narrowest phones
// in use (320 px), the most common Android width (360 px) and a large phone
// (412 px).
var phoneWidths = []int64{320, 360, 412}

// atWidth lays the page out as a phone of this CSS width would: a mobile
// viewport, so the page's meta viewport applies, and touch.
func atWidth(width int64) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(width, 800, chromedp.EmulateMobile, chromedp.EmulateTouch)
}

// layoutProblems returns what is wrong with the page as laid out now: the
// page scrolling sideways; a word of a value (the elements matching
// values: names, numbers, dates) broken across lines; a value clipped by a
// box that hides overflow, or reaching off the screen; values overlapping
// each other or an element matching obstacles (a portrait). Values are
// checked by their text, so a cell wider than its text is no overlap.
// Hidden elements are skipped. Empty when all is well.
func layoutProblems(t *testing.T, ctx context.Context, values, obstacles string) []string {
	t.Helper()
	js := fmt.Sprintf(`(function (valuesSel, obstaclesSel) {
  var out = [], W = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > W + 1) {
    out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " px wide in " + W);
  }
  function shown(e) { return e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; }
  function name(e) { return (e.id ? "#" + e.id : e.tagName.toLowerCase()) + " " + JSON.stringify(e.textContent.trim().slice(0, 40)); }
  function textRect(e) { var r = document.createRange(); r.selectNodeContents(e); return r.getBoundingClientRect(); }
  var vals = Array.from(document.querySelectorAll(valuesSel)).filter(function (e) { return shown(e) && e.textContent.trim(); });
  vals.forEach(function (e) {
    var w = document.createTreeWalker(e, NodeFilter.SHOW_TEXT), n;
    while ((n = w.nextNode())) {
      var re = /\S+/g, m;
      while ((m = re.exec(n.data))) {
        var r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        var rs = Array.from(r.getClientRects()).filter(function (x) { return x.width > 0; });
        if (rs.some(function (x) { return Math.abs(x.top - rs[0].top) > x.height / 2; })) {
          out.push(name(e) + ": " + JSON.stringify(m[0]) + " breaks across lines");
        }
      }
    }
    var b = textRect(e);
    if (b.left < -1 || b.right > W + 1) { out.push(name(e) + " reaches off the screen"); }
    for (var a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      var ov = getComputedStyle(a).overflowX;
      if (ov === "hidden" || ov === "clip") {
        var c = a.getBoundingClientRect();
        if (b.left < c.left - 1 || b.right > c.right + 1) { out.push(name(e) + " is cut off by its box"); }
      }
    }
  });
  var boxes = vals.map(function (e) { return [e, textRect(e)]; }).concat(
    Array.from(document.querySelectorAll(obstaclesSel || "none-at-all")).filter(shown).map(function (e) { return [e, e.getBoundingClientRect()]; }));
  for (var i = 0; i < boxes.length; i++) {
    for (var j = i + 1; j < boxes.length; j++) {
      var p = boxes[i], q = boxes[j];
      if (p[0].contains(q[0]) || q[0].contains(p[0])) { continue; }
      var x = Math.min(p[1].right, q[1].right) - Math.max(p[1].left, q[1].left);
      var y = Math.min(p[1].bottom, q[1].bottom) - Math.max(p[1].top, q[1].top);
      if (x > 1 && y > 1) { out.push(name(p[0]) + " overlaps " + name(q[0])); }
    }
  }
  return out;
})(%q, %q)`, values, obstacles)
	return value(t, ctx, chromedp.Evaluate[[]string](js))
}

// checkPhoneLayout lays the page out at each of phoneWidths and fails the
// test with every layoutProblems found, naming the width.
func checkPhoneLayout(t *testing.T, ctx context.Context, what, values, obstacles string) {
	t.Helper()
	for _, w := range phoneWidths {
		do(t, ctx, fmt.Sprintf("%s at %d px", what, w), atWidth(w))
		for _, p := range layoutProblems(t, ctx, values, obstacles) {
			t.Errorf("%s at %d px: %s", what, w, p)
		}
	}
}

// smallTargets returns the controls matching sel, shown, that are less
// than 44 CSS px high, the least a finger hits reliably (WCAG 2.5.5).
func smallTargets(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return value(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll(%q))
	  .filter(function (e) { return e.getClientRects().length > 0; })
	  .map(function (e) { return [e, e.getBoundingClientRect()]; })
	  .filter(function (p) { return p[1].height < 43.5; })
	  .map(function (p) { return JSON.stringify(p[0].textContent.trim()) + " is " + p[1].height.toFixed(1) + " px high"; })`, sel)))
}

// consoleErrors starts collecting the page's console errors (failed
// requests among them, as the browser logs them) and returns a function
// that reads those collected so far.
func consoleErrors(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	do(t, ctx, "listen to the console", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		events := cdp.Events(lctx, tg, log.EntryAdded)
		go func() {
			for e, err := range events {
				if err != nil {
					return
				}
				if e.Entry != nil && strings.EqualFold(string(e.Entry.Level), "error") {
					mu.Lock()
					errs = append(errs, e.Entry.Text+" ("+e.Entry.URL+")")
					mu.Unlock()
				}
			}
		}()
		_, err := cdp.Call(ctx, tg, log.Enable, cdp.Empty{})
		return err
	}))
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}
