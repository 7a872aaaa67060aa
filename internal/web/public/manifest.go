package public

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/epermit/epermit/internal/web/httpx"
)

// The web app manifest makes the wallet an installable app: its start URL
// is the wallet, which the wallet's service worker controls, so the
// installed app opens offline. Its scope is the whole site, so that the
// apply pages a holder reaches from the wallet stay inside the app window.

// manifestIcon is one icon of the manifest.
type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose"`
}

// manifestIcons are the sizes phones ask for: 192 px for the home screen
// and 512 px for the splash screen, each also as a maskable icon (the
// drawing keeps to the safe zone, see genicons).
var manifestIcons = []manifestIcon{
	{"/static/icons/icon-192.png", "192x192", "image/png", "any"},
	{"/static/icons/icon-512.png", "512x512", "image/png", "any"},
	{"/static/icons/icon-192.png", "192x192", "image/png", "maskable"},
	{"/static/icons/icon-512.png", "512x512", "image/png", "maskable"},
}

// manifest answers GET /manifest.webmanifest in the language of ?lang=
// (the pages link it with theirs: a manifest is fetched without cookies),
// else the request's.
func (s *Handler) manifest(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("lang")
	if !slices.Contains(httpx.Languages(), lang) {
		lang = httpx.PickLang(r)
	}
	m := httpx.Messages(lang)
	b, err := json.Marshal(map[string]any{
		"id": "/wallet", "start_url": "/wallet", "scope": "/",
		"name": m["site.name"], "short_name": m["wallet.title"], "lang": lang, "dir": "ltr",
		"display": "standalone", "background_color": "#f3f5f7", "theme_color": "#8c1c13",
		"icons": manifestIcons,
	})
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/manifest+json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Add("Vary", "Accept-Language")
	w.Write(b)
}
