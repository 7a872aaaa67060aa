package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func vectorJWKS(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ep1-good.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		JWKS json.RawMessage `json:"jwks"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.JWKS
}

func TestParseTrustListVector(t *testing.T) {
	tl, err := ParseTrustList(vectorJWKS(t), "vector", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tl.Key("uaRWTrTfbG8"); !ok || tl.Len() != 1 {
		t.Fatalf("vector trust list lacks kid uaRWTrTfbG8")
	}
}

func TestParseTrustListRefuses(t *testing.T) {
	good := string(vectorJWKS(t))
	for _, tc := range []struct{ name, data, want string }{
		{"not json", "{", "unexpected end"},
		{"wrong kid", strings.Replace(good, "uaRWTrTfbG8", "AAAAAAAAAAA", 1), "kid should be"},
		{"wrong curve", strings.Replace(good, "P-256", "P-384", 1), "not an EC P-256"},
		{"wrong alg", strings.Replace(good, `"ES256"`, `"RS256"`, 1), "not ES256"},
		{"off curve", strings.Replace(good, "sJvyFHplTv8yRX", "sJvyFHplTv8yRY", 1), "not a point"},
		{"encryption key", strings.Replace(good, `"sig"`, `"enc"`, 1), "not a signing key"},
	} {
		_, err := ParseTrustList([]byte(tc.data), tc.name, time.Time{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFetchTrustList(t *testing.T) {
	jwks := vectorJWKS(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(jwks)
	}))
	defer srv.Close()
	tl, err := FetchTrustList(context.Background(), srv.Client(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if tl.Len() != 1 || tl.Source() != srv.URL+"/.well-known/jwks.json" || tl.Updated().IsZero() {
		t.Fatalf("fetched %d keys from %s at %v", tl.Len(), tl.Source(), tl.Updated())
	}
	if _, err := FetchTrustList(context.Background(), srv.Client(), srv.URL+"/nowhere"); err == nil {
		t.Fatal("fetch from a 404 succeeded")
	}
}
