package httpx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
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

// CSRFMatches reports whether sent, the token the request carries, equals
// its CSRF cookie.
func CSRFMatches(r *http.Request, sent string) bool {
	c, err := r.Cookie(CSRFCookie)
	return err == nil && sent != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) == 1
}

// CSRF guards a state-changing endpoint the pages' scripts call: the
// Origin, when sent, must be this server (SameOrigin), and the X-CSRF-Token header must
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
