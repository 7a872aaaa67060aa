package web

import (
	"io/fs"
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

// sameOrigin reports whether a request's Origin header names this server:
// the public URL's scheme, host and port. Without a public URL (tests),
// the request's own: its Host, and https only if it came over TLS.
func (s *Server) sameOrigin(r *http.Request, header string) bool {
	got, ok := parseOrigin(header)
	if !ok {
		return false
	}
	want, ok := parseOrigin(s.a.Config().PublicURL)
	if !ok {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		want, _ = parseOrigin(scheme + "://" + r.Host)
	}
	return got == want
}

// hstsHeader is sent when the public URL is https: browsers then never
// try plain http for this host, so a network attacker cannot strip TLS.
const hstsHeader = "max-age=31536000"

// publicHTTPS reports whether the public URL is https.
func publicHTTPS(publicURL string) bool {
	o, ok := parseOrigin(publicURL)
	return ok && o.scheme == "https"
}

// filesOnly serves the files of an fs.FS and hides its directories, so a
// file server gives 404 for a directory rather than a listing.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
