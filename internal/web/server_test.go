package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
)

func newTestServer(t *testing.T, db *store.DB, opts Options) (*httptest.Server, *authority.Authority) {
	t.Helper()
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{}, nil)
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

func TestRateLimit(t *testing.T) {
	srv, _ := newTestServer(t, storetest.Open(t, store.SQLite), Options{RateLimit: 1, RateBurst: 3})
	var codes []int
	for range 5 {
		resp, body := get(t, srv.URL+"/.well-known/jwks.json")
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			var p problemDoc
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

func TestLimiterRefills(t *testing.T) {
	l := newLimiter(2, 2)
	now := time.Unix(0, 0)
	if !l.allow("a", now) || !l.allow("a", now) || l.allow("a", now) {
		t.Fatal("burst of 2 not enforced")
	}
	if !l.allow("b", now) {
		t.Fatal("clients share a bucket")
	}
	if !l.allow("a", now.Add(500*time.Millisecond)) {
		t.Fatal("no refill after 0.5 s at 2/s")
	}
	l.allow("a", now.Add(time.Hour)) // sweeps idle buckets
	if _, ok := l.seen["b"]; ok {
		t.Fatal("idle bucket not swept")
	}
}

func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fwd   []string // X-Forwarded-For headers, in order
		trust bool
		want  string
	}{
		{"no proxy trusted", []string{"203.0.113.7"}, false, "10.0.0.9"},
		{"appended by the proxy", []string{"203.0.113.7"}, true, "203.0.113.7"},
		// A client that sends its own header cannot choose its address: the
		// proxy appends the one it saw.
		{"spoofed entries on the left", []string{"198.51.100.1, 192.0.2.10, 203.0.113.7"}, true, "203.0.113.7"},
		{"spoofed header before the proxy's", []string{"198.51.100.1", "203.0.113.7"}, true, "203.0.113.7"},
		{"ipv6", []string{"2001:db8::1"}, true, "2001:db8::1"},
		{"not an address", []string{"203.0.113.7, junk"}, true, "10.0.0.9"},
		{"no header", nil, true, "10.0.0.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.9:5555"
		for _, v := range tc.fwd {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddr(r, tc.trust); got != tc.want {
			t.Errorf("%s: clientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
}
