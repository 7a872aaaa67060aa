package httpx

import (
	"net/http/httptest"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in   string
		want origin
		ok   bool
	}{
		{"http://127.0.0.1:18080", origin{"http", "127.0.0.1", "18080"}, true},
		{"https://EPermit.Example", origin{"https", "epermit.example", "443"}, true},
		{"http://epermit.example", origin{"http", "epermit.example", "80"}, true},
		{"https://[::1]:8443/", origin{"https", "::1", "8443"}, true},
		{"null", origin{}, false},
		{"ftp://epermit.example", origin{}, false},
		{"https://user@epermit.example", origin{}, false},
		{"", origin{}, false},
	}
	for _, tc := range tests {
		got, ok := parseOrigin(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseOrigin(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// The pages and the console accept an Origin only when its scheme, host
// and port are the public URL's.
func TestOriginMustMatchPublicURL(t *testing.T) {
	const public = "http://127.0.0.1:18080"
	site := &Site{PublicURL: public}
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"", true}, // no Origin: the CSRF token alone decides
		{public, true},
		{public + "/", true},
		{"https://127.0.0.1:18080", false}, // the attack: same host and port, other scheme
		{"http://localhost:18080", false},
		{"http://127.0.0.1:1", false},
		{"null", false},
		{"https://evil.example", false},
	} {
		r := httptest.NewRequest("POST", public+"/app/proofing", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := site.SameOrigin(r); got != tc.want {
			t.Errorf("Origin %q: same origin = %v, want %v", tc.origin, got, tc.want)
		}
	}
}
