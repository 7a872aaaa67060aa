package web

import (
	"net/http"
)

// The holder's linkage proofs in the wallet page, and the service worker
// that opens the wallet offline. The /app/linkage endpoints are the API's
// linkage handlers with the session cookie as the bearer credential, as
// the /app/epermits twins are; see docs/pages.md.

// walletScope is the part of the site the service worker controls: the
// wallet page only, so that no other page is ever served from a cache.
const walletScope = "/wallet"

func (s *Server) holderRoutes() {
	s.mux.HandleFunc("POST /app/linkage", s.csrf(s.withSecret(sessionCookie, s.issueLinkage)))
	s.mux.HandleFunc("GET /app/linkage", s.withSecret(sessionCookie, s.myLinkageProofs))
	s.mux.HandleFunc("POST /app/linkage/{cti}/cancel", s.csrf(s.withSecret(sessionCookie, s.cancel)))
	// More specific than GET /static/, so it wins for this one file.
	s.mux.HandleFunc("GET /static/js/sw.js", s.serviceWorker)
}

// serviceWorker serves static/js/sw.js. A worker's scope may not reach
// above its own directory (/static/js/) unless the server allows it with
// Service-Worker-Allowed; no-cache makes the browser ask for a new worker
// on every check, so a fixed one reaches phones without waiting an hour.
func (s *Server) serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/js/sw.js")
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Service-Worker-Allowed", walletScope)
	w.Write(b)
}
