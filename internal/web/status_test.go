package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// statusFixture is a server with one issued e-permit, and a second
// authority on the same store and keys: another replica, or the CLI.
type statusFixture struct {
	srv   *httptest.Server
	other *authority.Authority
	c     *permit.Credential
	keys  map[string]*ecdsa.PublicKey
	clock *testClock // both authorities'
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStatusFixture(t *testing.T, db *store.DB) statusFixture {
	t.Helper()
	ctx := authority.WithActor(context.Background(), "test")
	dir := t.TempDir()
	cfg := authority.Config{PublicURL: "https://epermit.test"}
	a, err := authority.New(db, keys.Files{Dir: dir}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := authority.New(db, keys.Files{Dir: dir}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Now().Truncate(time.Second)}
	a.SetClock(clock.now)
	other.SetClock(clock.now)
	recs := seedRegistry(t, a, 10)
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var c *permit.Credential
	for _, r := range recs {
		tp := r.TravelPermits[0]
		if c, err = a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &holder.PublicKey); err == nil {
			break
		}
	}
	if c == nil {
		t.Fatalf("no demo person could get an e-permit: %v", err)
	}
	set, _ := a.TrustList(ctx)
	b, _ := json.Marshal(set)
	trusted, err := credential.ParseJWKSet(b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(a, slog.New(slog.DiscardHandler), Options{RateLimit: 1000, RateBurst: 1000}))
	t.Cleanup(srv.Close)
	return statusFixture{srv: srv, other: other, c: c, keys: trusted, clock: clock}
}

func (f statusFixture) fetch(t *testing.T, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// issuedAt parses a served CWT token and returns its iat.
func (f statusFixture) issuedAt(t *testing.T, b []byte) time.Time {
	t.Helper()
	p, err := credential.ParseStatusListCWT(b, func(kid string) (*ecdsa.PublicKey, bool) { k, ok := f.keys[kid]; return k, ok })
	if err != nil {
		t.Fatal(err)
	}
	return p.IssuedAt
}

// entry parses a served token of the given form and returns the e-permit's entry.
func (f statusFixture) entry(t *testing.T, form authority.StatusForm, b []byte) credential.StatusValue {
	t.Helper()
	parse := credential.ParseStatusListCWT
	if form == authority.StatusJWT {
		parse = credential.ParseStatusListJWT
	}
	lookup := func(kid string) (*ecdsa.PublicKey, bool) { k, ok := f.keys[kid]; return k, ok }
	p, err := parse(b, lookup)
	if err != nil {
		t.Fatalf("served %s token: %v", form, err)
	}
	if p.Subject != "https://epermit.test/s/"+strconv.FormatInt(f.c.StatusList, 10) {
		t.Fatalf("sub %q", p.Subject)
	}
	v, _ := p.List.Get(uint64(f.c.StatusIndex))
	return v
}

func TestStatusListEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStatusFixture(t, db)
		path := "/s/" + strconv.FormatInt(f.c.StatusList, 10)

		resp, body := f.fetch(t, path, nil)
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/statuslist+cwt" || etag == "" ||
			resp.Header.Get("Cache-Control") != "public, max-age=150" || resp.Header.Get("Vary") != "Accept" {
			t.Fatalf("GET %s = %d %v", path, resp.StatusCode, resp.Header)
		}
		if v := f.entry(t, authority.StatusCWT, body); v != credential.StatusValid {
			t.Fatalf("fresh e-permit is %s", v)
		}
		resp, body = f.fetch(t, path, map[string]string{"Accept": "application/statuslist+jwt"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/statuslist+jwt" || resp.Header.Get("ETag") == etag {
			t.Fatalf("JWT form: %d %v", resp.StatusCode, resp.Header)
		}
		if v := f.entry(t, authority.StatusJWT, body); v != credential.StatusValid {
			t.Fatalf("fresh e-permit in the JWT form is %s", v)
		}

		// Conditional requests.
		resp, body = f.fetch(t, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match with the current ETag = %d, %d bytes", resp.StatusCode, len(body))
		}
		if resp, _ := f.fetch(t, path, map[string]string{"If-None-Match": `"other", ` + etag}); resp.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match with a list holding the ETag = %d", resp.StatusCode)
		}

		// An unchanged list: 304 while its token is current, with a max-age
		// that ends when it is signed again; from then on the new token.
		f.clock.add(100 * time.Second)
		resp, _ = f.fetch(t, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Cache-Control") != "public, max-age=50" {
			t.Fatalf("100 s on, If-None-Match = %d, %s", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		f.clock.add(50 * time.Second)
		resp, body = f.fetch(t, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || resp.Header.Get("Cache-Control") != "public, max-age=150" {
			t.Fatalf("half a ttl on, If-None-Match = %d %s %s; want 200, signed again", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
		}
		if iat := f.issuedAt(t, body); !iat.Equal(f.clock.now()) {
			t.Fatalf("re-signed token's iat %v, want %v", iat, f.clock.now())
		}
		etag = resp.Header.Get("ETag")

		// A revocation by the other instance shows on the very next fetch.
		if _, err := f.other.Revoke(authority.WithActor(t.Context(), "test"), f.c.ID, "misuse"); err != nil {
			t.Fatal(err)
		}
		resp, body = f.fetch(t, path, map[string]string{"If-None-Match": etag})
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
			t.Fatalf("after a revocation, the old ETag = %d %s", resp.StatusCode, resp.Header.Get("ETag"))
		}
		if v := f.entry(t, authority.StatusCWT, body); v != credential.StatusRevoked {
			t.Fatalf("revoked e-permit is %s", v)
		}

		for _, tc := range []struct {
			path, accept string
			status       int
			code         string
		}{
			{path, "text/html", http.StatusNotAcceptable, "not_acceptable"},
			{"/s/" + strconv.FormatInt(f.c.StatusList+50, 10), "", http.StatusNotFound, "not_found"},
			{"/s/abc", "", http.StatusNotFound, "not_found"},
			{"/s/0", "", http.StatusNotFound, "not_found"},
			{"/s/0" + strconv.FormatInt(f.c.StatusList, 10), "", http.StatusNotFound, "not_found"},
		} {
			h := map[string]string{}
			if tc.accept != "" {
				h["Accept"] = tc.accept
			}
			resp, body := f.fetch(t, tc.path, h)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(string(body), `"code":"`+tc.code+`"`) {
				t.Errorf("GET %s (Accept %q) = %d %s", tc.path, tc.accept, resp.StatusCode, body)
			}
		}
	})
}

// A list the server cannot sign (its issuer key does not open here) is
// 503 not_ready, not 500 internal: the operator's problem, and the client
// may try again.
func TestStatusListKeyNotReady(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newStatusFixture(t, db)
		// Another replica on the same store whose key store is empty.
		a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(New(a, slog.New(slog.DiscardHandler), Options{RateLimit: 1000, RateBurst: 1000}))
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/s/" + strconv.FormatInt(f.c.StatusList, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&p)
		if resp.StatusCode != http.StatusServiceUnavailable || p.Code != string(permit.ECodeNotReady) {
			t.Fatalf("GET /s/n with no usable key = %d %q, want 503 not_ready", resp.StatusCode, p.Code)
		}
	})
}
