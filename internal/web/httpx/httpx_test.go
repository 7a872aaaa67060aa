package httpx

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMatchAcceptLanguage(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "zh-Hant"},
		{"fr-FR, de", "zh-Hant"},
		{"en-US,en;q=0.9", "en"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans"},
		{"zh-Hans-CN", "zh-Hans"},
		{"zh-SG", "zh-Hans"},
		{"zh-HK,en;q=0.5", "zh-Hant"},
		{"zh-TW", "zh-Hant"},
		{"zh-Hant-MO", "zh-Hant"},
		{"zh", "zh-Hant"},
		{"en;q=0.4, zh-CN;q=0.8", "zh-Hans"},
		{"zh-CN;q=0, en", "en"},
	}
	for _, tc := range tests {
		if got := MatchAcceptLanguage(tc.header); got != tc.want {
			t.Errorf("MatchAcceptLanguage(%q) = %s; want %s", tc.header, got, tc.want)
		}
	}
}

func TestLimiterRefills(t *testing.T) {
	l := NewLimiter(2, 2)
	now := time.Unix(0, 0)
	if !l.Allow("a", now) || !l.Allow("a", now) || l.Allow("a", now) {
		t.Fatal("burst of 2 not enforced")
	}
	if !l.Allow("b", now) {
		t.Fatal("clients share a bucket")
	}
	if !l.Allow("a", now.Add(500*time.Millisecond)) {
		t.Fatal("no refill after 0.5 s at 2/s")
	}
	l.Allow("a", now.Add(time.Hour)) // sweeps idle buckets
	if _, ok := l.seen["b"]; ok {
		t.Fatal("idle bucket not swept")
	}
}

func TestLimiterOwnRate(t *testing.T) {
	l := NewLimiter(2, 4) // bursts of 2 s
	now := time.Unix(0, 0)
	n := 0
	for l.AllowRate("raised", 100, now) {
		n++
	}
	if n != 200 {
		t.Fatalf("a client at 100/s got a burst of %d; want 200 (2 s)", n)
	}
	if !l.AllowRate("raised", 100, now.Add(10*time.Millisecond)) {
		t.Fatal("no refill after 10 ms at 100/s")
	}
	n = 0
	for l.AllowRate("default", 0, now) {
		n++
	}
	if n != 4 {
		t.Fatalf("rate 0 got a burst of %d; want the limiter's 4", n)
	}
}

func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fwd   []string // X-Forwarded-For headers, in order
		trust bool
		want  string
	}{
		{"no proxy trusted", []string{"203.0.113.7"}, false, "10.0.0.9"},
		{"appended by the proxy", []string{"203.0.113.7"}, true, "203.0.113.7"},
		// A client that sends its own header cannot choose its address: the
		// proxy appends the one it saw.
		{"spoofed entries on the left", []string{"198.51.100.1, 192.0.2.10, 203.0.113.7"}, true, "203.0.113.7"},
		{"spoofed header before the proxy's", []string{"198.51.100.1", "203.0.113.7"}, true, "203.0.113.7"},
		{"ipv6", []string{"2001:db8::1"}, true, "2001:db8::1"},
		{"not an address", []string{"203.0.113.7, junk"}, true, "10.0.0.9"},
		{"no header", nil, true, "10.0.0.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.9:5555"
		for _, v := range tc.fwd {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientAddr(r, tc.trust); got != tc.want {
			t.Errorf("%s: ClientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestScriptMessages: a page gets the keys its scripts name and those
// under a prefix they complete, and nothing else.
func TestScriptMessages(t *testing.T) {
	src := `t("wallet.title"); t("sex." + h.sex); var x = "not.a.key"; "/static/js/" + f; t( "lang.name" )`
	got := scriptMessages(src)
	for _, l := range languages {
		m := got[l]
		for _, want := range []string{"wallet.title", "sex.male", "sex.female", "lang.name"} {
			if m[want] != catalogs[l][want] || m[want] == "" {
				t.Errorf("%s: %s = %q, want %q", l, want, m[want], catalogs[l][want])
			}
		}
		for k := range m {
			if k != "wallet.title" && k != "lang.name" && !strings.HasPrefix(k, "sex.") {
				t.Errorf("%s: %s sent, which the script cannot ask for", l, k)
			}
		}
	}
}
