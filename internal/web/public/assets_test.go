package public

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/andybalholm/brotli"

	"github.com/epermit/epermit/internal/web/httpx"
)

// testAssets is a static tree: a script with a fresh .br, one whose .br is
// stale, a PNG, and a directory.
func testAssets(t *testing.T) *http.ServeMux {
	t.Helper()
	js := []byte(strings.Repeat("function f() { return 42; }\n", 200))
	stale := []byte(strings.Repeat("var changed = true;\n", 200))
	var br bytes.Buffer
	w := brotli.NewWriterLevel(&br, brotli.BestCompression)
	w.Write(js)
	w.Close()
	var old bytes.Buffer
	w = brotli.NewWriterLevel(&old, 5)
	w.Write([]byte("var changed = false;\n"))
	w.Close()
	fsys := fstest.MapFS{
		"js/a.js":                    {Data: js},
		"js/a.js.br":                 {Data: br.Bytes()},
		"js/b.js":                    {Data: stale},
		"js/b.js.br":                 {Data: old.Bytes()},
		"icons/favicon.ico":          {Data: []byte("\x00\x00\x01\x00 not really an icon")},
		"icons/apple-touch-icon.png": {Data: []byte("\x89PNG\r\n\x1a\n not really")},
		"icons/icon-192.png":         {Data: []byte("\x89PNG\r\n\x1a\n")},
		"icons/icon-512.png":         {Data: []byte("\x89PNG\r\n\x1a\n")},
		"dir/x.css":                  {Data: []byte("body{}")},
	}
	mux := http.NewServeMux()
	New(&httpx.Site{Log: slog.New(slog.DiscardHandler)}, nil, fsys).Register(mux)
	return mux
}

func get(mux http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var rd io.Reader = bytes.NewReader(b)
	switch enc {
	case "br":
		rd = brotli.NewReader(rd)
	case "gzip":
		z, err := gzip.NewReader(rd)
		if err != nil {
			t.Fatal(err)
		}
		rd = z
	}
	out, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

func TestStaticCompression(t *testing.T) {
	mux := testAssets(t)
	plainA := get(mux, "/static/js/a.js").Body.Bytes()
	plainB := get(mux, "/static/js/b.js").Body.Bytes()
	for _, tc := range []struct {
		path, accept, wantEnc string
		want                  []byte
	}{
		{"/static/js/a.js", "", "", plainA},
		{"/static/js/a.js", "gzip, deflate, br, zstd", "br", plainA},
		{"/static/js/a.js", "gzip", "gzip", plainA},
		{"/static/js/a.js", "br;q=0, gzip", "gzip", plainA},
		{"/static/js/a.js", "gzip;q=0", "", plainA},
		{"/static/js/a.js", "*", "", plainA},
		// A .br that no longer holds the file is never sent.
		{"/static/js/b.js", "br, gzip", "gzip", plainB},
		{"/static/js/b.js", "br", "", plainB},
		// Already compressed images go out as they are.
		{"/apple-touch-icon.png", "br, gzip", "", nil},
	} {
		resp := get(mux, tc.path, "Accept-Encoding", tc.accept)
		if resp.Code != 200 {
			t.Fatalf("%s (%q): %d", tc.path, tc.accept, resp.Code)
		}
		if got := resp.Header().Get("Content-Encoding"); got != tc.wantEnc {
			t.Errorf("%s (%q): Content-Encoding %q, want %q", tc.path, tc.accept, got, tc.wantEnc)
			continue
		}
		if tc.want != nil {
			if body := decode(t, tc.wantEnc, resp.Body.Bytes()); !bytes.Equal(body, tc.want) {
				t.Errorf("%s (%q): decoded body differs from the file", tc.path, tc.accept)
			}
			if tc.wantEnc != "" && resp.Body.Len() >= len(tc.want)/3 {
				t.Errorf("%s (%q): %d bytes for %d: not compressed", tc.path, tc.accept, resp.Body.Len(), len(tc.want))
			}
			if !strings.Contains(resp.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("%s: no Vary: Accept-Encoding", tc.path)
			}
		}
	}
	if !bytes.Equal(plainA, []byte(strings.Repeat("function f() { return 42; }\n", 200))) {
		t.Error("plain a.js differs from the file")
	}
}

// TestStaticRevalidation: a conditional request with the ETag gets a 304
// without the file, for each coding; a changed ETag gets the file.
func TestStaticRevalidation(t *testing.T) {
	mux := testAssets(t)
	for _, accept := range []string{"", "gzip", "br"} {
		first := get(mux, "/static/js/a.js", "Accept-Encoding", accept)
		etag := first.Header().Get("ETag")
		if etag == "" || !strings.HasPrefix(etag, `"`) {
			t.Fatalf("accept %q: ETag %q, want a strong one", accept, etag)
		}
		if cc := first.Header().Get("Cache-Control"); cc != staticCacheControl {
			t.Errorf("Cache-Control %q", cc)
		}
		again := get(mux, "/static/js/a.js", "Accept-Encoding", accept, "If-None-Match", etag)
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("accept %q: revalidation got %d with %d bytes, want 304 and none", accept, again.Code, again.Body.Len())
		}
		other := get(mux, "/static/js/a.js", "Accept-Encoding", accept, "If-None-Match", `"something-else"`)
		if other.Code != 200 || other.Body.Len() == 0 {
			t.Errorf("accept %q: stale ETag got %d", accept, other.Code)
		}
	}
	// Each coding has its own ETag, so a cache never mixes them up.
	if get(mux, "/static/js/a.js").Header().Get("ETag") == get(mux, "/static/js/a.js", "Accept-Encoding", "gzip").Header().Get("ETag") {
		t.Error("plain and gzip answers share an ETag")
	}
}

func TestStaticNotFound(t *testing.T) {
	mux := testAssets(t)
	for _, p := range []string{"/static/js/", "/static/dir", "/static/dir/", "/static/nope.js", "/static/../public.go", "/static//js/a.js"} {
		if code := get(mux, p).Code; code == 200 {
			t.Errorf("%s: 200, want an error", p)
		}
	}
	for _, p := range []string{"/favicon.ico", "/apple-touch-icon.png", "/static/icons/icon-192.png", "/static/dir/x.css"} {
		if code := get(mux, p).Code; code != 200 {
			t.Errorf("%s: %d, want 200", p, code)
		}
	}
}

func TestManifest(t *testing.T) {
	mux := testAssets(t)
	for _, tc := range []struct{ query, acceptLang, wantLang string }{
		{"?lang=en", "", "en"},
		{"?lang=zh-Hans", "en", "zh-Hans"},
		{"", "en-GB", "en"},
		{"?lang=xx", "", "zh-Hant"},
	} {
		resp := get(mux, "/manifest.webmanifest"+tc.query, "Accept-Language", tc.acceptLang)
		if resp.Code != 200 || resp.Header().Get("Content-Type") != "application/manifest+json" {
			t.Fatalf("%s: %d %s", tc.query, resp.Code, resp.Header().Get("Content-Type"))
		}
		var m struct {
			Name, ShortName, Lang, StartURL, Scope, Display, ID string
			Icons                                               []manifestIcon
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(resp.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		for k, dst := range map[string]*string{"name": &m.Name, "short_name": &m.ShortName, "lang": &m.Lang,
			"start_url": &m.StartURL, "scope": &m.Scope, "display": &m.Display, "id": &m.ID} {
			json.Unmarshal(raw[k], dst)
		}
		json.Unmarshal(raw["icons"], &m.Icons)
		if m.Lang != tc.wantLang || m.Name != httpx.Messages(tc.wantLang)["site.name"] || m.ShortName == "" {
			t.Errorf("%s: lang %q name %q short %q", tc.query, m.Lang, m.Name, m.ShortName)
		}
		if m.StartURL != "/wallet" || m.Scope != "/" || m.Display != "standalone" || m.ID != "/wallet" {
			t.Errorf("%s: start_url %q scope %q display %q id %q", tc.query, m.StartURL, m.Scope, m.Display, m.ID)
		}
		sizes := map[string]bool{}
		for _, ic := range m.Icons {
			sizes[ic.Sizes+" "+ic.Purpose] = true
			if code := get(mux, ic.Src).Code; code != 200 {
				t.Errorf("icon %s: %d", ic.Src, code)
			}
		}
		for _, want := range []string{"192x192 any", "512x512 any", "192x192 maskable", "512x512 maskable"} {
			if !sizes[want] {
				t.Errorf("%s: no %s icon", tc.query, want)
			}
		}
	}
}
