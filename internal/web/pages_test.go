package web

import (
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/applicant"
	"github.com/epermit/epermit/internal/web/httpx"
)

// TestCatalogsComplete keeps the three languages in step: every key in
// every language, none empty, and every key the templates and scripts use
// defined.
func TestCatalogsComplete(t *testing.T) {
	ref := httpx.Messages("en")
	for _, l := range httpx.Languages() {
		for k := range ref {
			if strings.TrimSpace(httpx.Messages(l)[k]) == "" {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		for k := range httpx.Messages(l) {
			if _, ok := ref[k]; !ok {
				t.Errorf("%s has %q, which en lacks", l, k)
			}
		}
	}
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.T "([^"]+)"`)
	jsKey := regexp.MustCompile(`\bt\("([a-z_.]+[a-z_])"`)
	for _, c := range []struct {
		fsys fs.FS
		glob string
		re   *regexp.Regexp
	}{{os.DirFS("."), "*/templates/*.html", tmplKey}, {staticFS, "static/js/*.js", jsKey}} {
		names, _ := fs.Glob(c.fsys, c.glob)
		for _, n := range names {
			b, _ := fs.ReadFile(c.fsys, n)
			for _, m := range c.re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d message keys in use; the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := ref[k]; !ok {
			t.Errorf("key %q is used but not defined", k)
		}
	}
}

var inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`)

func TestPagesRender(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	for _, page := range []string{"/", "/apply", "/wallet", "/gate"} {
		for _, tc := range []struct{ accept, lang, word string }{
			{"", "zh-Hant", "臨時電子通行證"},
			{"zh-CN", "zh-Hans", "临时电子通行证"},
			{"en-GB", "en", "Temporary E-Permit"},
		} {
			req, _ := http.NewRequest("GET", srv.URL+page, nil)
			req.Header.Set("Accept-Language", tc.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			body := b.String()
			if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.word) {
				t.Errorf("%s in %s: %d, lang or words missing", page, tc.lang, resp.StatusCode)
			}
			// Inline scripts are refused by the CSP; the only script with a
			// body is the non-executable JSON data block.
			for _, m := range inlineScript.FindAllString(body, -1) {
				if !strings.Contains(m, `type="application/json"`) {
					t.Errorf("%s has an inline script: %s", page, m)
				}
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Errorf("%s CSP = %q", page, csp)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s Cache-Control = %q", page, resp.Header.Get("Cache-Control"))
			}
		}
	}
}

// TestLanguageSwitch: ?lang= sets a cookie holding only the language and
// redirects to the bare path.
func TestLanguageSwitch(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(srv.URL + "/gate?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.RawQuery != "" || resp.Request.URL.Path != "/gate" {
		t.Errorf("after the switch the URL is %s", resp.Request.URL)
	}
	if resp.Header.Get("Content-Language") != "en" {
		t.Errorf("Content-Language = %q; want en", resp.Header.Get("Content-Language"))
	}
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if ck.Name == httpx.LangCookie && ck.Value != "en" {
			t.Errorf("lang cookie = %q", ck.Value)
		}
	}
	resp, _ = c.Get(srv.URL + "/gate?lang=xx")
	resp.Body.Close()
	if resp.Header.Get("Content-Language") != "en" {
		t.Errorf("an unknown language changed the choice to %q", resp.Header.Get("Content-Language"))
	}
}

// TestPagesCSRF: state-changing page endpoints need the double-submit token
// and, when the browser says where it comes from, this origin.
func TestPagesCSRF(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	resp, err := http.Get(srv.URL + "/apply")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var token string
	for _, c := range resp.Cookies() {
		if c.Name == httpx.CSRFCookie {
			token = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("CSRF cookie %+v", c)
			}
		}
	}
	if token == "" {
		t.Fatal("no CSRF cookie on the page")
	}
	body := `{"document_type":"hk","document_number":"H12345678","name":"CHAN TAI MAN","birth_date":"1990-01-01"}`
	tests := []struct {
		name, cookie, header, origin string
		status                       int
	}{
		{"no token", "", "", "", 403},
		{"cookie only", token, "", "", 403},
		{"header only", "", token, "", 403},
		{"mismatch", token, token[:42] + "x", "", 403},
		{"other origin", token, token, "https://evil.example", 403},
		{"same host and port, other scheme", token, token, strings.Replace(srv.URL, "http://", "https://", 1), 403},
		{"same origin", token, token, srv.URL, 201},
		{"no Origin header", token, token, "", 201},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest("POST", srv.URL+"/app/proofing", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: tc.cookie})
		}
		if tc.header != "" {
			req.Header.Set(httpx.CSRFHeader, tc.header)
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d; want %d", tc.name, resp.StatusCode, tc.status)
		}
		if tc.status == 201 {
			var proof *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == applicant.ProofCookie {
					proof = c
				}
			}
			if proof == nil || !proof.HttpOnly || proof.SameSite != http.SameSiteStrictMode || proof.Path != "/app/" {
				t.Errorf("%s: proofing cookie %+v", tc.name, proof)
			}
		}
	}
}

// TestSecureCookies: cookies are Secure unless the dev switch allows plain
// http, and even then Secure over TLS.
func TestSecureCookies(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	tests := []struct {
		insecure bool
		proto    string
		want     bool
	}{
		{false, "", true},
		{true, "", false},
		{true, "https", true},
	}
	for _, tc := range tests {
		s, _ := newTestServer(t, db, Options{InsecureCookies: tc.insecure, TrustProxy: true})
		req, _ := http.NewRequest("GET", s.URL+"/", nil)
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cs := resp.Cookies()
		if len(cs) != 1 || cs[0].Secure != tc.want {
			t.Errorf("insecure=%v proto=%q: cookies %+v; want Secure=%v", tc.insecure, tc.proto, cs, tc.want)
		}
	}
}

// TestPageEndpointsNeedSession: the applicant endpoints refuse a browser
// without the session cookie.
func TestPageEndpointsNeedSession(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	for _, path := range []string{"/app/me", "/app/epermits"} {
		status, p := call(t, "GET", srv.URL+path, "", nil, nil)
		if status != 401 || p["code"] != "unauthorized" {
			t.Errorf("GET %s without a session: %d %v", path, status, p)
		}
	}
}

// TestPageSignOut: signing out on the pages ends the session on the server,
// not only the cookie in this browser.
func TestPageSignOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, _, outbox := pagesServer(t, db)
		token := proveAPI(t, srv.URL+"/api/v1", outbox) // the page session cookie holds the same token
		const csrf = "0123456789abcdef0123456789abcdef0123456789abcdef"
		req, _ := http.NewRequest("POST", srv.URL+"/app/signout", nil)
		req.AddCookie(&http.Cookie{Name: applicant.SessionCookie, Value: token})
		req.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: csrf})
		req.Header.Set(httpx.CSRFHeader, csrf)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("sign out = %d", resp.StatusCode)
		}
		if status, p := call(t, "GET", srv.URL+"/api/v1/epermits", token, nil, nil); status != 401 || p["code"] != "unauthorized" {
			t.Errorf("the token after signing out: %d %v", status, p)
		}
	})
}

// TestZhHantOneWordEach keeps one word for each thing in Traditional
// Chinese: 您 (not 你), 金鑰 (not 密鑰) for a key, 註銷 (not 取消) for a
// cancellation.
func TestZhHantOneWordEach(t *testing.T) {
	for k, v := range httpx.Messages("zh-Hant") {
		for _, w := range []string{"你", "密鑰", "取消"} {
			if strings.Contains(v, w) {
				t.Errorf("zh-Hant %q says %q: %s", k, w, v)
			}
		}
	}
}
