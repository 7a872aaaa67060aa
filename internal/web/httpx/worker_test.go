package httpx

import (
	"log/slog"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// TestServiceWorker: the page's file and then the core, as one script
// with the headers that let it control its page; without either file the
// answer is an error, never half a worker.
func TestServiceWorker(t *testing.T) {
	site := &Site{Log: slog.New(slog.DiscardHandler)}
	full := fstest.MapFS{
		"js/page-sw.js": {Data: []byte(`var CACHE = "epermit-page-v1";`)},
		"js/sw-core.js": {Data: []byte(`self.addEventListener("fetch", f);`)},
	}
	tests := []struct {
		name   string
		static fstest.MapFS
		status int
		body   string
	}{
		{"both", full, 200, "var CACHE = \"epermit-page-v1\";\nself.addEventListener(\"fetch\", f);\n"},
		{"no page file", fstest.MapFS{"js/sw-core.js": full["js/sw-core.js"]}, 500, ""},
		{"no core", fstest.MapFS{"js/page-sw.js": full["js/page-sw.js"]}, 500, ""},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		site.ServiceWorker(tc.static, "js/page-sw.js", "/page")(w, httptest.NewRequest("GET", "/static/js/page-sw.js", nil))
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			if w.Header().Get("Service-Worker-Allowed") != "" {
				t.Errorf("%s: an error allows a scope", tc.name)
			}
			continue
		}
		h := w.Header()
		if w.Body.String() != tc.body || h.Get("Service-Worker-Allowed") != "/page" ||
			h.Get("Cache-Control") != "no-cache" || h.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("%s: %q %v", tc.name, w.Body.String(), h)
		}
	}
}
