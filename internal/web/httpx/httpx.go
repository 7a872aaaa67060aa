// Package httpx holds the HTTP pieces every audience's handlers share: the
// problem+json writer with its one table from reason code to HTTP status,
// client authentication and rate limits, strict JSON decoding, bearer
// credentials, cookies and CSRF checks, the page language, and page
// rendering. It knows no route and no use case.
package httpx

import (
	"io/fs"
	"log/slog"
	"net/http"
)

// Site is what every handler shares about the deployment: the logger for
// internal errors and the facts that decide cookies and client addresses.
type Site struct {
	Log *slog.Logger
	// PublicURL is the server's public base URL: the origin the pages'
	// and the console's CSRF checks accept.
	PublicURL string
	// TrustProxy makes the client address and scheme come from
	// X-Forwarded-For and X-Forwarded-Proto.
	TrustProxy bool
	// InsecureCookies drops the Secure attribute from cookies on requests
	// over plain http: only for tests and the local demo.
	InsecureCookies bool
	// Demo marks pages as the demo's.
	Demo bool
	// Static holds the pages' static files (css/, js/, ...): a page's
	// scripts are read from it to send the page only the words they use.
	// Without it pages carry whole catalogues.
	Static fs.FS
}

// ClientAddr is the request's client address as this deployment sees it.
func (s *Site) ClientAddr(r *http.Request) string { return ClientAddr(r, s.TrustProxy) }

// Secure says whether cookies get the Secure attribute: always, unless the
// site runs with InsecureCookies and this request did not come over TLS.
func (s *Site) Secure(r *http.Request) bool {
	if !s.InsecureCookies {
		return true
	}
	return r.TLS != nil || (s.TrustProxy && r.Header.Get("X-Forwarded-Proto") == "https")
}
