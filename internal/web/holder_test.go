package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/applicant"
	"github.com/epermit/epermit/internal/web/gate"
	"github.com/epermit/epermit/internal/web/httpx"
)

// TestHolderLinkageEndpoints: the /app/linkage twins of the API need the
// session cookie, and the state-changing ones the CSRF token first.
func TestHolderLinkageEndpoints(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	resp, err := http.Get(srv.URL + "/wallet")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var token string
	for _, c := range resp.Cookies() {
		if c.Name == httpx.CSRFCookie {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no CSRF cookie on the wallet page")
	}
	const cti = "00112233445566778899aabbccddeeff"
	tests := []struct {
		method, path string
		csrf         bool
		status       int
		code         string
	}{
		{"POST", "/app/linkage", false, 403, "csrf"},
		{"POST", "/app/linkage/" + cti + "/cancel", false, 403, "csrf"},
		{"POST", "/app/linkage", true, 401, "unauthorized"},
		{"POST", "/app/linkage/" + cti + "/cancel", true, 401, "unauthorized"},
		{"GET", "/app/linkage", false, 401, "unauthorized"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if tc.csrf {
			req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: token})
			req.Header.Set(httpx.CSRFHeader, token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != tc.status || p.Code != tc.code {
			t.Errorf("%s %s csrf=%v: %d %q; want %d %q", tc.method, tc.path, tc.csrf, resp.StatusCode, p.Code, tc.status, tc.code)
		}
	}
}

// TestServiceWorker: each worker (the wallet's, the gate page's) is served
// with the header that lets it control its page, and it keeps every file
// that page loads, so that a new script on the page cannot silently break
// the page offline.
func TestServiceWorker(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	for _, tc := range []struct{ worker, scope string }{
		{"/static/js/sw.js", applicant.WalletScope},
		{"/static/js/gate-sw.js", gate.Scope},
	} {
		resp, sw := get(t, srv.URL+tc.worker)
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Service-Worker-Allowed") != tc.scope ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || h.Get("Cache-Control") != "no-cache" ||
			h.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Fatalf("GET %s: %d %v", tc.worker, resp.StatusCode, h)
		}
		// The page's file names what to keep; the shared core, sent with
		// it, keeps it.
		if !strings.Contains(sw, `var CACHE = "epermit-`) || !strings.Contains(sw, `self.addEventListener("fetch"`) {
			t.Errorf("GET %s: not the page's file followed by the core:\n%s", tc.worker, sw)
		}
		_, page := get(t, srv.URL+tc.scope)
		assets := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
		if len(assets) < 4 {
			t.Fatalf("found only %d assets on %s", len(assets), tc.scope)
		}
		for _, want := range append([]string{tc.scope}, func() (out []string) {
			for _, m := range assets {
				out = append(out, m[1])
			}
			return out
		}()...) {
			if !strings.Contains(sw, `"`+want+`"`) {
				t.Errorf("the service worker %s does not keep %s, which %s needs", tc.worker, want, tc.scope)
			}
		}
	}
}
