package httpx

import "testing"

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
