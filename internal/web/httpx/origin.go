package httpx

import (
	"net/http"
	"net/url"
	"strings"
)

// origin is a web origin: scheme, host and port, all compared.
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

// SameOrigin reports whether the request's Origin header, when sent, names
// this server: the public URL's scheme, host and port. Without a public URL
// (tests), the request's own: its Host, and https only if it came over TLS.
func (s *Site) SameOrigin(r *http.Request) bool {
	header := r.Header.Get("Origin")
	if header == "" {
		return true
	}
	got, ok := parseOrigin(header)
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

// PublicHTTPS reports whether the public URL is https.
func PublicHTTPS(publicURL string) bool {
	o, ok := parseOrigin(publicURL)
	return ok && o.scheme == "https"
}
