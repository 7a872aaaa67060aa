package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

var t0 = time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)

// listServer is a fake authority publishing one status list, signed with
// iat (the authority's clock at signing: tests move it as a real authority
// re-signs, or hold it still as a replaying cache does) and exp iat + 24 h.
// Its behaviour can be changed between fetches; it counts requests.
type listServer struct {
	*httptest.Server
	mu       sync.Mutex
	key      *ecdsa.PrivateKey // signs the tokens
	list     *credential.StatusList
	version  int
	ttl      time.Duration
	iat      time.Time
	sub      string // "" means the list's own URL
	fail     int    // an HTTP status to answer with instead
	tamper   bool
	ctype    string
	requests int
	notMod   int // 304 answers
}

func newListServer(t *testing.T, key *ecdsa.PrivateKey) *listServer {
	t.Helper()
	l, _ := credential.NewStatusList(1024)
	l.Set(1, credential.StatusRevoked)
	l.Set(2, credential.StatusSuspended)
	l.Set(3, 3) // undefined in spec §5
	s := &listServer{key: key, list: l, ttl: 5 * time.Minute, iat: t0, ctype: credential.StatusListCWTType}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *listServer) uri() string { return s.URL + "/s/1" }

func (s *listServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.Header.Get("Accept") != credential.StatusListCWTType {
		http.Error(w, "want the CWT form", http.StatusNotAcceptable)
		return
	}
	if s.fail != 0 {
		http.Error(w, "down", s.fail)
		return
	}
	// Like the authority's, the ETag changes with the iat: a list signed
	// again is new bytes.
	etag := `"` + strconv.Itoa(s.version) + "-" + strconv.FormatInt(s.iat.Unix(), 10) + `"`
	if r.Header.Get("If-None-Match") == etag {
		s.notMod++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	sub := s.sub
	if sub == "" {
		sub = s.uri()
	}
	kid, _ := credential.KeyID(&s.key.PublicKey)
	tok, err := credential.SignStatusListCWT(credential.StatusListClaims{Subject: sub, IssuedAt: s.iat,
		Expiry: s.iat.Add(24 * time.Hour), TTL: s.ttl, List: s.list}, nil, kid, s.key)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	if s.tamper {
		tok[len(tok)-70] ^= 1 // inside the payload, before the 64-byte signature
	}
	w.Header().Set("Content-Type", s.ctype)
	w.Header().Set("ETag", etag)
	w.Write(tok)
}

func (s *listServer) set(fn func(s *listServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStatusCacheLookups(t *testing.T) {
	issuer := newKey(t)
	srv := newListServer(t, issuer)
	c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
	for _, tc := range []struct {
		idx  uint64
		want StatusValue
		err  bool
	}{
		{0, StatusValid, false},
		{1, StatusRevoked, false},
		{2, StatusSuspended, false},
		{3, 0, true},    // undefined value
		{4096, 0, true}, // beyond the list
		{1023, StatusValid, false},
	} {
		v, age, err := c.Status(context.Background(), srv.uri(), tc.idx, t0.Add(time.Minute))
		if tc.err {
			if !errors.Is(err, ErrStatusUnknown) {
				t.Errorf("idx %d: %v, %v; want ErrStatusUnknown", tc.idx, v, err)
			}
			continue
		}
		if err != nil || v != tc.want || !age.Equal(t0) {
			t.Errorf("idx %d = %v, age %v, %v; want %v", tc.idx, v, age, err, tc.want)
		}
	}
	if srv.requests != 1 {
		t.Errorf("%d fetches for lookups within one ttl, want 1", srv.requests)
	}
}

// Every failure is "unknown", never "revoked": the index asked for is the
// revoked entry, so a wrong answer would show.
func TestStatusCacheUnknown(t *testing.T) {
	issuer := newKey(t)
	for _, tc := range []struct {
		name  string
		setup func(s *listServer)
		trust func(t *testing.T) *TrustList
		opts  StatusCacheOptions
	}{
		{name: "tampered token", setup: func(s *listServer) { s.tamper = true }},
		{name: "unknown kid", setup: func(s *listServer) { s.key = newKey(t) }},
		{name: "server error", setup: func(s *listServer) { s.fail = 503 }},
		{name: "not found", setup: func(s *listServer) { s.fail = 404 }},
		{name: "another list's token", setup: func(s *listServer) { s.sub = "https://epermit.test/s/2" }},
		{name: "wrong content type", setup: func(s *listServer) { s.ctype = "application/json" }},
		{name: "expired token", setup: func(s *listServer) { s.iat = t0.Add(-25 * time.Hour) }},
		{name: "response over the bound", opts: StatusCacheOptions{MaxResponse: 40}},
		{name: "no trust list", trust: func(t *testing.T) *TrustList { return nil }},
		{name: "empty trust list", trust: func(t *testing.T) *TrustList { return trustOf(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newListServer(t, issuer)
			if tc.setup != nil {
				srv.set(tc.setup)
			}
			trust := trustOf(t, issuer)
			if tc.trust != nil {
				trust = tc.trust(t)
			}
			tc.opts.Client = srv.Client()
			c := NewStatusCache(trust, tc.opts)
			v, _, err := c.Status(context.Background(), srv.uri(), 1, t0.Add(time.Minute))
			if !errors.Is(err, ErrStatusUnknown) {
				t.Fatalf("= %v, %v; want ErrStatusUnknown", v, err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := newListServer(t, issuer)
		uri := srv.uri()
		srv.Close()
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{})
		if _, _, err := c.Status(context.Background(), uri, 1, t0); !errors.Is(err, ErrStatusUnknown) {
			t.Fatalf("unreachable = %v", err)
		}
	})
}

func TestStatusCacheFreshness(t *testing.T) {
	issuer := newKey(t)
	ctx := context.Background()

	t.Run("a change shows within one ttl", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		if v, _, err := c.Status(ctx, srv.uri(), 10, t0); err != nil || v != StatusValid {
			t.Fatalf("before = %v, %v", v, err)
		}
		// The authority signs the change a minute later.
		srv.set(func(s *listServer) {
			s.list.Set(10, credential.StatusRevoked)
			s.version++
			s.iat = t0.Add(time.Minute)
		})
		if v, iat, err := c.Status(ctx, srv.uri(), 10, t0.Add(4*time.Minute)); err != nil || v != StatusValid || !iat.Equal(t0) {
			t.Fatalf("within the ttl = %v, %v, %v; want the cached valid", v, iat, err)
		}
		if v, iat, err := c.Status(ctx, srv.uri(), 10, t0.Add(5*time.Minute)); err != nil || v != StatusRevoked || !iat.Equal(t0.Add(time.Minute)) {
			t.Fatalf("at the ttl = %v, %v, %v; want revoked, signed at t0+1m", v, iat, err)
		}
		if a, ok := c.Age(srv.uri(), t0.Add(5*time.Minute)); !ok || a != 4*time.Minute {
			t.Fatalf("Age = %v, %v; want 4m (since iat, not since the fetch)", a, ok)
		}
		if srv.requests != 2 {
			t.Errorf("%d fetches, want 2", srv.requests)
		}
	})

	t.Run("an unchanged list signed again is fresh again", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		c.Status(ctx, srv.uri(), 1, t0)
		srv.set(func(s *listServer) { s.iat = t0.Add(5 * time.Minute) })
		v, iat, err := c.Status(ctx, srv.uri(), 1, t0.Add(6*time.Minute))
		if err != nil || v != StatusRevoked || !iat.Equal(t0.Add(5*time.Minute)) || srv.notMod != 0 {
			t.Fatalf("after re-signing = %v, %v, %v, %d 304s", v, iat, err, srv.notMod)
		}
	})

	t.Run("a 304 does not make an old copy fresh", func(t *testing.T) {
		// A server that keeps answering 304 for a token past its ttl (a
		// stale cache in front of the authority) confirms nothing new.
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		c.Status(ctx, srv.uri(), 1, t0)
		v, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(6*time.Minute))
		if !errors.Is(err, ErrStatusUnknown) || srv.notMod != 1 {
			t.Fatalf("after a 304 for a 6-minute-old list = %v, %v, %d 304s", v, err, srv.notMod)
		}
		if a, ok := c.Age(srv.uri(), t0.Add(7*time.Minute)); !ok || a != 7*time.Minute {
			t.Fatalf("Age = %v, %v; want 7m", a, ok)
		}
		// Nor does every scan now wait on the network: it backs off.
		c.Status(ctx, srv.uri(), 1, t0.Add(6*time.Minute+5*time.Second))
		if srv.requests != 2 {
			t.Fatalf("%d fetches, want 2", srv.requests)
		}
	})

	t.Run("stale list is unknown", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		if _, _, err := c.Status(ctx, srv.uri(), 1, t0); err != nil {
			t.Fatal(err)
		}
		srv.set(func(s *listServer) { s.fail = 502 })
		if v, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(5*time.Minute+time.Second)); !errors.Is(err, ErrStatusUnknown) {
			t.Fatalf("past the ttl with the server down = %v, %v", v, err)
		}
		infos := c.Lists(t0.Add(6 * time.Minute))
		if len(infos) != 1 || infos[0].Usable || infos[0].Age != 6*time.Minute || infos[0].Entries != 1024 || !infos[0].IssuedAt.Equal(t0) {
			t.Fatalf("Lists = %+v", infos)
		}
	})

	t.Run("configured max age rides out an outage", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), MaxAge: time.Hour})
		c.Status(ctx, srv.uri(), 1, t0)
		srv.set(func(s *listServer) { s.fail = 502 })
		if v, iat, err := c.Status(ctx, srv.uri(), 1, t0.Add(30*time.Minute)); err != nil || v != StatusRevoked || !iat.Equal(t0) {
			t.Fatalf("within max age = %v, %v, %v", v, iat, err)
		}
		if _, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(time.Hour)); !errors.Is(err, ErrStatusUnknown) {
			t.Fatalf("at max age = %v", err)
		}
	})

	t.Run("a stricter max age refreshes sooner", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), MaxAge: time.Minute})
		c.Status(ctx, srv.uri(), 1, t0)
		srv.set(func(s *listServer) { s.iat = t0.Add(time.Minute) })
		if v, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(61*time.Second)); err != nil || v != StatusRevoked || srv.requests != 2 {
			t.Fatalf("= %v, %v after %d fetches, want revoked after 2", v, err, srv.requests)
		}
	})

	t.Run("failed fetches back off", func(t *testing.T) {
		srv := newListServer(t, issuer)
		srv.set(func(s *listServer) { s.fail = 503 })
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), RetryAfter: 10 * time.Second})
		for i := range 5 {
			c.Status(ctx, srv.uri(), 1, t0.Add(time.Duration(i)*time.Second))
		}
		if srv.requests != 1 {
			t.Fatalf("%d fetches within RetryAfter, want 1", srv.requests)
		}
		srv.set(func(s *listServer) { s.fail = 0 })
		if v, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(10*time.Second)); err != nil || v != StatusRevoked {
			t.Fatalf("after RetryAfter = %v, %v", v, err)
		}
	})

	t.Run("concurrent lookups share one fetch", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if v, _, err := c.Status(ctx, srv.uri(), 2, t0); err != nil || v != StatusSuspended {
					t.Errorf("= %v, %v", v, err)
				}
			})
		}
		wg.Wait()
		if srv.requests != 1 {
			t.Fatalf("%d fetches, want 1", srv.requests)
		}
	})
}

// The list's age is the authority's: now − iat. A fake status server
// answers as a replaying middlebox, a server whose clock runs ahead, and
// one rolling a gate back would.
func TestStatusCacheIssuedAt(t *testing.T) {
	issuer := newKey(t)
	ctx := context.Background()

	t.Run("replayed list two hours old", func(t *testing.T) {
		for _, tc := range []struct {
			maxAge  time.Duration
			unknown bool
		}{
			{0, true},               // the list's ttl: 5 min
			{time.Hour, true},       // the gate's maximum
			{3 * time.Hour, false},  // a gate riding out an outage: used, shown 2 h old
			{23 * time.Hour, false}, // inside exp
			{24 * time.Hour, true},  // at exp
			{48 * time.Hour, true},  // never past exp
		} {
			srv := newListServer(t, issuer)
			srv.set(func(s *listServer) { s.iat = t0.Add(-2 * time.Hour) }) // trusted, signed, exp t0+22h
			c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), MaxAge: tc.maxAge})
			now := t0
			if tc.maxAge >= 24*time.Hour {
				now = t0.Add(22 * time.Hour)
			}
			v, iat, err := c.Status(ctx, srv.uri(), 1, now)
			if tc.unknown {
				if !errors.Is(err, ErrStatusUnknown) {
					t.Errorf("max age %v: = %v, %v; want ErrStatusUnknown", tc.maxAge, v, err)
				}
			} else if err != nil || v != StatusRevoked || now.Sub(iat) != 2*time.Hour {
				t.Errorf("max age %v: = %v, age %v, %v; want revoked, 2h old", tc.maxAge, v, now.Sub(iat), err)
			}
			if a, ok := c.Age(srv.uri(), now); !ok || a != now.Sub(t0.Add(-2*time.Hour)) {
				t.Errorf("max age %v: Age = %v, %v", tc.maxAge, a, ok)
			}
			// Each further scan does not fetch again: the answer was as old
			// as it was, so the gate backs off as after a failure.
			c.Status(ctx, srv.uri(), 1, now.Add(time.Second))
			if srv.requests != 1 {
				t.Errorf("max age %v: %d fetches, want 1", tc.maxAge, srv.requests)
			}
		}
	})

	t.Run("iat in the future", func(t *testing.T) {
		for _, tc := range []struct {
			ahead, skew time.Duration
			ok          bool
		}{
			{4 * time.Minute, 0, true},
			{DefaultSkew, 0, true},
			{DefaultSkew + time.Second, 0, false},
			{24 * time.Hour, 0, false},
			{2 * time.Minute, time.Minute, false},
			{50 * time.Second, time.Minute, true},
		} {
			srv := newListServer(t, issuer)
			srv.set(func(s *listServer) { s.iat = t0.Add(tc.ahead) })
			c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), Skew: tc.skew})
			v, iat, err := c.Status(ctx, srv.uri(), 1, t0)
			if !tc.ok {
				if !errors.Is(err, ErrStatusUnknown) || len(c.Lists(t0)) != 0 {
					t.Errorf("%v ahead, skew %v: = %v, %v, %d lists kept; want ErrStatusUnknown, none kept", tc.ahead, tc.skew, v, err, len(c.Lists(t0)))
				}
				continue
			}
			if err != nil || v != StatusRevoked || !iat.Equal(t0.Add(tc.ahead)) {
				t.Errorf("%v ahead, skew %v: = %v, %v, %v; want it used", tc.ahead, tc.skew, v, iat, err)
			}
			if a, ok := c.Age(srv.uri(), t0); !ok || a != 0 {
				t.Errorf("%v ahead: Age = %v, %v; want 0", tc.ahead, a, ok)
			}
		}
	})

	t.Run("a future list does not block the real one", func(t *testing.T) {
		// Once refused, a list a day ahead leaves no copy that would make
		// the authority's real list look like a rollback.
		srv := newListServer(t, issuer)
		srv.set(func(s *listServer) { s.iat = t0.Add(24 * time.Hour) })
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client()})
		c.Status(ctx, srv.uri(), 1, t0)
		srv.set(func(s *listServer) { s.iat = t0 })
		if v, _, err := c.Status(ctx, srv.uri(), 1, t0.Add(DefaultStatusRetryAfter)); err != nil || v != StatusRevoked {
			t.Fatalf("the real list after a future one = %v, %v", v, err)
		}
	})

	t.Run("rollback keeps the newer copy", func(t *testing.T) {
		srv := newListServer(t, issuer)
		c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), MaxAge: time.Hour})
		if v, _, err := c.Status(ctx, srv.uri(), 1, t0); err != nil || v != StatusRevoked {
			t.Fatalf("first = %v, %v", v, err)
		}
		// Past the ttl, the answer is an older signed list (inside its exp)
		// from before entry 1 was revoked.
		srv.set(func(s *listServer) {
			s.list.Set(1, credential.StatusValid)
			s.version--
			s.iat = t0.Add(-30 * time.Minute)
		})
		v, iat, err := c.Status(ctx, srv.uri(), 1, t0.Add(6*time.Minute))
		if err != nil || v != StatusRevoked || !iat.Equal(t0) {
			t.Fatalf("after a rollback = %v, %v, %v; want the held revoked list of t0", v, iat, err)
		}
		if infos := c.Lists(t0.Add(6 * time.Minute)); len(infos) != 1 || !infos[0].IssuedAt.Equal(t0) || !infos[0].Fetched.Equal(t0) {
			t.Fatalf("Lists = %+v; want the copy of t0, fetched at t0", infos)
		}
		// The rollback counted as a failed fetch: no fetch within RetryAfter.
		c.Status(ctx, srv.uri(), 1, t0.Add(6*time.Minute+time.Second))
		if srv.requests != 2 {
			t.Fatalf("%d fetches, want 2", srv.requests)
		}
		// A newer list replaces it.
		srv.set(func(s *listServer) { s.version += 2; s.iat = t0.Add(7 * time.Minute) })
		if v, iat, err := c.Status(ctx, srv.uri(), 1, t0.Add(7*time.Minute)); err != nil || v != StatusValid || !iat.Equal(t0.Add(7*time.Minute)) {
			t.Fatalf("newer list = %v, %v, %v", v, iat, err)
		}
	})
}

// Through the verifier, against a fake status server replaying a trusted
// list signed two hours before the scan (inside its exp): with a maximum
// age of one hour the gate warns status_unknown; allowed three hours, it
// uses the list and shows its true age, 7200 s.
func TestVerifierReplayedStatusList(t *testing.T) {
	issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	srv := newListServer(t, issuer)
	srv.set(func(s *listServer) { s.iat = vScan.Add(-2 * time.Hour) })
	claims := fixtureClaims(&holder.PublicKey)
	claims.Status = credential.StatusRef{URI: srv.uri(), Idx: 1} // revoked in the list
	text := present(t, sign(t, claims, issuer), holder, vProof)
	for _, tc := range []struct {
		name         string
		cacheMax     time.Duration // StatusCacheOptions.MaxAge
		policyMax    time.Duration // Policy.MaxStatusAge
		unknown      bool
		wantAgeShown bool
	}{
		{name: "the list's ttl", unknown: true},
		{name: "gate maximum 1 h", cacheMax: time.Hour, unknown: true},
		{name: "gate maximum 3 h, policy 1 h", cacheMax: 3 * time.Hour, policyMax: time.Hour, unknown: true, wantAgeShown: true},
		{name: "gate maximum 3 h", cacheMax: 3 * time.Hour, wantAgeShown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewStatusCache(trustOf(t, issuer), StatusCacheOptions{Client: srv.Client(), MaxAge: tc.cacheMax})
			r := New(trustOf(t, issuer), c, Policy{Use: UseTrain, MaxStatusAge: tc.policyMax}).Verify(context.Background(), text, vScan)
			if tc.unknown {
				if r.Decision != AcceptWithWarning || len(r.Warnings) != 1 || r.Warnings[0] != WarnStatusUnknown {
					t.Fatalf("= %s %s %v; want accept_with_warning status_unknown", r.Decision, r.Code, r.Warnings)
				}
			} else if r.Decision != Reject || r.Code != CodeRevoked {
				t.Fatalf("= %s %s %v; want reject revoked", r.Decision, r.Code, r.Warnings)
			}
			if shown := r.Credential.StatusAge; (shown != nil) != tc.wantAgeShown || (shown != nil && *shown != 7200) {
				t.Fatalf("status age %v; want 7200 s shown: %v", deref(shown), tc.wantAgeShown)
			}
		})
	}
}
