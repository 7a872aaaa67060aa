package httpx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/epermit/epermit/permit"
)

// The double-submit CSRF token: a cookie, and the same value in the page
// for the scripts (X-CSRF-Token) or the forms (field "csrf") to send back.
const (
	CSRFCookie = "ep_csrf"
	CSRFHeader = "X-CSRF-Token"
)

// SetCookie sets (or, with maxAge ≤ 0, deletes) an HttpOnly, SameSite=Strict
// cookie scoped to path: how the pages hold bearer credentials.
func (s *Site) SetCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.Secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// CSRFToken returns the browser's double-submit token, setting the cookie
// on first visit. The page carries the same value in a meta element.
func (s *Site) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.Secure(r),
		SameSite: http.SameSiteStrictMode})
	return v
}

// SameOrigin reports whether the request's Origin, when sent, names this
// server: the public URL's scheme, host and port, all compared (an
// https://host Origin on an http server is another origin). Without a
// public URL (tests), the request's own Host, and https only over TLS.
func (s *Site) SameOrigin(r *http.Request) bool {
	h := r.Header.Get("Origin")
	if h == "" {
		return true
	}
	got, ok := parseOrigin(h)
	if !ok {
		return false
	}
	want, ok := parseOrigin(s.PublicURL)
	if !ok {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		want, _ = parseOrigin(scheme + "://" + r.Host)
	}
	return got == want
}

// origin is a web origin: scheme, host and port.
type origin struct{ scheme, host, port string }

// parseOrigin reads an Origin header or a base URL, filling in the
// scheme's default port; ok is false for anything else ("null", a path).
func parseOrigin(s string) (o origin, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return origin{}, false
	}
	o = origin{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		o.port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return o, true
}

// CSRFMatches reports whether sent, the token the request carries, equals
// its CSRF cookie.
func CSRFMatches(r *http.Request, sent string) bool {
	c, err := r.Cookie(CSRFCookie)
	return err == nil && sent != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) == 1
}

// CSRF guards a state-changing endpoint the pages' scripts call: the
// Origin, when sent, must be this server, and the X-CSRF-Token header must
// equal the cookie. Either alone stops a cross-site form; both together
// also cover old browsers and same-site subdomains.
func (s *Site) CSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.SameOrigin(r) {
			WriteProblem(w, permit.ECodeCSRF, "cross-origin request refused")
			return
		}
		if !CSRFMatches(r, r.Header.Get(CSRFHeader)) {
			WriteProblem(w, permit.ECodeCSRF, "missing or wrong CSRF token; reload the page")
			return
		}
		next(w, r)
	}
}
