package web

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
)

// The pages and the console accept an Origin only when its scheme, host
// and port are the public URL's.
func TestOriginMustMatchPublicURL(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	host := strings.TrimPrefix(srv.URL, "http://")
	s := srv.Config.Handler.(*Server)
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{srv.URL, true},
		{srv.URL + "/", true},
		{"https://" + host, false}, // the attack: same host and port, other scheme
		{"http://localhost:" + host[strings.LastIndex(host, ":")+1:], false},
		{"http://" + host[:strings.LastIndex(host, ":")] + ":1", false},
		{"null", false},
		{"https://evil.example", false},
	} {
		r := httptest.NewRequest("POST", srv.URL+"/app/proofing", nil)
		r.Header.Set("Origin", tc.origin)
		if got := s.site.SameOrigin(r); got != tc.want {
			t.Errorf("Origin %q: same origin = %v, want %v", tc.origin, got, tc.want)
		}
	}
}

// Strict-Transport-Security goes with an https public URL only.
func TestHSTS(t *testing.T) {
	for _, tc := range []struct {
		public string
		want   string
	}{
		{"https://epermit.example", hstsHeader},
		{"http://127.0.0.1:8080", ""},
	} {
		a, err := authority.New(storetest.Open(t, store.SQLite), keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: tc.public}, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(New(a, slog.New(slog.DiscardHandler), Options{}))
		for _, path := range []string{"/healthz", "/nowhere", "/apply"} {
			resp, _ := get(t, srv.URL+path)
			if got := resp.Header.Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("%s, GET %s: Strict-Transport-Security %q, want %q", tc.public, path, got, tc.want)
			}
		}
		srv.Close()
	}
}

// /static/ serves files and never lists a directory.
func TestStaticServesFilesOnly(t *testing.T) {
	srv, _ := newTestServer(t, storetest.Open(t, store.SQLite), Options{})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/static/js/common.js", 200},
		{"/static/css/site.css", 200},
		{"/static/", 404},
		{"/static/js/", 404},
		{"/static/js", 404},
		{"/static/vendor/", 404},
		{"/static/nothing.js", 404},
	} {
		resp, body := get(t, srv.URL+tc.path)
		if resp.StatusCode != tc.status || (tc.status == 404 && strings.Contains(body, "<a href")) {
			t.Errorf("GET %s = %d %.60q; want %d", tc.path, resp.StatusCode, body, tc.status)
		}
	}
}
