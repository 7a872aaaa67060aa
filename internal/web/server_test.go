package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

func newTestServer(t *testing.T, db *store.DB, opts Options) (*httptest.Server, *authority.Authority) {
	t.Helper()
	return newTestServerWith(t, db, opts, authority.Config{Notifier: &notify.Outbox{}})
}

func newTestServerWith(t *testing.T, db *store.DB, opts Options, cfg authority.Config) (*httptest.Server, *authority.Authority) {
	t.Helper()
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(a, slog.New(slog.DiscardHandler), opts))
	t.Cleanup(srv.Close)
	return srv, a
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a := newTestServer(t, db, Options{})
		k, err := a.InitKeys(authority.WithActor(t.Context(), "test"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			path, contentType, body string
			status                  int
		}{
			{"/healthz", "application/json", `"ok"`, 200},
			{"/readyz", "application/json", `"ready"`, 200},
			{"/metrics", "text/plain", "epermit_http_requests_total", 200},
			{"/.well-known/jwks.json", "application/jwk-set+json", k.Kid, 200},
			{"/nowhere", "application/problem+json", `"code":"not_found"`, 404},
			// Without a root of trust there is no signed list and no root.
			{"/.well-known/epermit-trust-list", "application/problem+json", `"code":"not_found"`, 404},
			{"/.well-known/epermit-root.pem", "application/problem+json", `"code":"not_found"`, 404},
		} {
			resp, body := get(t, srv.URL+tc.path)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) ||
				!strings.Contains(body, tc.body) {
				t.Errorf("GET %s = %d %s %q; want %d %s containing %q", tc.path, resp.StatusCode,
					resp.Header.Get("Content-Type"), body, tc.status, tc.contentType, tc.body)
			}
			if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s lacks security headers", tc.path)
			}
		}
		// The trust list is spec §1: each key checks, kid included.
		_, body := get(t, srv.URL+"/.well-known/jwks.json")
		keys, err := credential.ParseJWKSet([]byte(body))
		if err != nil || len(keys) != 1 || keys[k.Kid] == nil {
			t.Fatalf("trust list %s: %v", body, err)
		}
	})
}

func TestReadyzWhenStoreIsDown(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	srv, _ := newTestServer(t, db, Options{})
	db.Close()
	resp, body := get(t, srv.URL+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"not_ready"`) {
		t.Fatalf("readyz with a closed store = %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.URL+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz = %d, want 200 while the process runs", resp.StatusCode)
	}
}

// Not ready without an active issuer key or a way to send codes; an
// applicant then gets a 503 problem, not a 500.
func TestReadyzNeedsKeyAndNotifier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, tc := range []struct {
			name     string
			notifier bool
			key      bool
			want     string
		}{
			{"nothing", false, false, "--sms-url"},
			{"no key", true, false, "keys init"},
			{"no notifier", false, true, "--sms-url"},
			{"both", true, true, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db := storetest.Open(t, db.Engine())
				cfg := authority.Config{}
				if tc.notifier {
					cfg.Notifier = &notify.Outbox{}
				}
				srv, a := newTestServerWith(t, db, Options{}, cfg)
				if tc.key {
					if _, err := a.InitKeys(authority.WithActor(t.Context(), "test")); err != nil {
						t.Fatal(err)
					}
				}
				resp, body := get(t, srv.URL+"/readyz")
				if tc.want == "" {
					if resp.StatusCode != 200 || !strings.Contains(body, `"policy":"`+permit.DefaultPolicy().Hash()+`"`) {
						t.Fatalf("readyz = %d %s, want 200 with the policy's hash", resp.StatusCode, body)
					}
					return
				}
				if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"not_ready"`) ||
					!strings.Contains(body, tc.want) {
					t.Fatalf("readyz = %d %s; want 503 not_ready naming %q", resp.StatusCode, body, tc.want)
				}
				if tc.notifier {
					return
				}
				r, err := http.Post(srv.URL+"/api/v1/proofing", "application/json",
					strings.NewReader(`{"document_type":"hk","document_number":"H12345678","name":"x","birth_date":"1990-01-01"}`))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"code":"not_ready"`) {
					t.Errorf("proofing start without a notifier = %d %s; want 503 not_ready", r.StatusCode, b)
				}
			})
		}
	})
}

func TestRateLimit(t *testing.T) {
	srv, _ := newTestServer(t, storetest.Open(t, store.SQLite), Options{RateLimit: 1, RateBurst: 3})
	var codes []int
	for range 5 {
		resp, body := get(t, srv.URL+"/.well-known/jwks.json")
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			var p httpx.Problem
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Code != "rate_limited" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 body %q, Retry-After %q", body, resp.Header.Get("Retry-After"))
			}
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 || codes[4] != 429 {
		t.Fatalf("status codes %v, want 3 × 200 then 429s", codes)
	}
	// Probes are never limited.
	if resp, _ := get(t, srv.URL+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz rate-limited: %d", resp.StatusCode)
	}
}

// Browsers get an HTML page in their language for an unknown address; API
// clients keep problem+json. The home page's title names the site once.
func TestErrorPages(t *testing.T) {
	srv, _ := newTestServer(t, storetest.Open(t, store.SQLite), Options{})
	for _, tc := range []struct {
		path, accept, lang, wantType, want string
	}{
		{"/nowhere", "text/html,application/xhtml+xml,*/*;q=0.8", "zh-CN", "text/html", httpx.Messages("zh-Hans")["err.page.notfound.title"]},
		{"/nowhere", "text/html", "en", "text/html", httpx.Messages("en")["err.page.notfound"]},
		{"/nowhere", "*/*", "en", "application/problem+json", `"code":"not_found"`},
		{"/api/v1/nowhere", "text/html", "en", "application/problem+json", `"code":"not_found"`},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		req.Header.Set("Accept", tc.accept)
		req.Header.Set("Accept-Language", tc.lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s (Accept %s) = %d %s; want 404 %s with %q\n%s", tc.path, tc.accept, resp.StatusCode,
				resp.Header.Get("Content-Type"), tc.wantType, tc.want, b)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "zh-HK")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	name := httpx.Messages("zh-Hant")["site.name"]
	if title := regexp.MustCompile(`<title>(.*?)</title>`).FindSubmatch(b); title == nil || string(title[1]) != name {
		t.Errorf("home page title %q; want %q alone", title, name)
	}
}
