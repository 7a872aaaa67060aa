package verify

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

// The spec's independent vector (spec §8): accepted for trains, refused for
// border control with `scope`, and its fields read as listed.
func TestSpecVector(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "ep1-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vec struct {
		At     time.Time       `json:"at"`
		Use    Use             `json:"use"`
		JWKS   json.RawMessage `json:"jwks"`
		Text   string          `json:"text"`
		Expect struct {
			DocumentNumber string `json:"document_number"`
			Name           string `json:"name"`
			LatinName      string `json:"latin_name"`
			BirthDate      string `json:"birth_date"`
			Issuer         string `json:"issuer"`
			StatusList     struct {
				Idx uint64 `json:"idx"`
				URI string `json:"uri"`
			} `json:"status_list"`
		} `json:"expect"`
	}
	if err := json.Unmarshal(b, &vec); err != nil {
		t.Fatal(err)
	}
	trust, err := ParseTrustList(vec.JWKS, "spec vector", vec.At)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		use      Use
		decision Decision
		code     Code
	}{
		{vec.Use, Accept, ""},
		{UseBorder, Reject, CodeScope},
	}
	for _, tc := range tests {
		v := New(trust, fixedStatus("valid"), Policy{Use: tc.use})
		r := v.Verify(context.Background(), vec.Text, vec.At)
		if r.Decision != tc.decision || r.Code != tc.code {
			t.Fatalf("%s: Verify = %s %s (%s); want %s %s", tc.use, r.Decision, r.Code, r.Message, tc.decision, tc.code)
		}
		if r.Credential.Issuer != vec.Expect.Issuer || r.Credential.StatusURI != vec.Expect.StatusList.URI ||
			r.Credential.StatusIndex != vec.Expect.StatusList.Idx {
			t.Errorf("%s: credential info %+v; want issuer %s, status %+v", tc.use, r.Credential, vec.Expect.Issuer, vec.Expect.StatusList)
		}
		if r.Accepted() {
			h := r.Holder
			if h.DocumentNumber != vec.Expect.DocumentNumber || h.Name != vec.Expect.Name ||
				h.LatinName != vec.Expect.LatinName || h.BirthDate != vec.Expect.BirthDate || h.DocumentType != "hk" {
				t.Errorf("holder %+v; want %+v", h, vec.Expect)
			}
		}
	}
}

// A stale status list is a warning, never a rejection; a fresh enough one
// is used.
func TestMaxStatusAge(t *testing.T) {
	issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	text := present(t, sign(t, fixtureClaims(&holder.PublicKey), issuer), holder, vProof)
	trust := trustOf(t, issuer)
	tests := []struct {
		maxAge   time.Duration
		status   StatusValue
		decision Decision
		code     Code
	}{
		{0, StatusRevoked, Reject, CodeRevoked},
		{2 * time.Minute, StatusRevoked, Reject, CodeRevoked},
		{30 * time.Second, StatusRevoked, AcceptWithWarning, ""},
		{30 * time.Second, StatusValid, AcceptWithWarning, ""},
		{0, 3, AcceptWithWarning, ""}, // undefined value: unknown, not revoked
	}
	for _, tc := range tests {
		v := New(trust, agedStatus{tc.status, time.Minute}, Policy{Use: UseTrain, MaxStatusAge: tc.maxAge})
		r := v.Verify(context.Background(), text, vScan)
		if r.Decision != tc.decision || r.Code != tc.code {
			t.Errorf("max age %v, status %d: %s %s; want %s %s", tc.maxAge, tc.status, r.Decision, r.Code, tc.decision, tc.code)
		}
		if r.Decision == AcceptWithWarning && (len(r.Warnings) != 1 || r.Warnings[0] != WarnStatusUnknown) {
			t.Errorf("warnings %v; want status_unknown", r.Warnings)
		}
	}
}

// agedStatus is a status source whose list says s and was issued age
// before now (a negative age: in the future).
type agedStatus struct {
	s   StatusValue
	age time.Duration
}

func (a agedStatus) Status(_ context.Context, _ string, _ uint64, now time.Time) (StatusValue, time.Time, error) {
	return a.s, now.Add(-a.age), nil
}

// jwksOf is the JWK Set of the given issuer keys.
func jwksOf(t testing.TB, issuers ...*ecdsa.PrivateKey) []byte {
	t.Helper()
	set := credential.JWKSet{Keys: []credential.JWK{}}
	for _, k := range issuers {
		j, err := credential.NewJWK(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trustOf is a trust list of the given issuer keys.
func trustOf(t testing.TB, issuers ...*ecdsa.PrivateKey) *TrustList {
	t.Helper()
	l, err := ParseTrustList(jwksOf(t, issuers...), "test", vScan)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestReplayCache(t *testing.T) {
	var a, b [16]byte
	a[0], b[0] = 1, 2
	t0 := time.Unix(1_800_000_000, 0)
	forget := t0.Add(time.Minute)
	c := NewReplayCache(3)
	steps := []struct {
		cti  [16]byte
		iat  time.Time
		now  time.Time
		seen bool
	}{
		{a, t0, t0, false},
		{a, t0, t0.Add(time.Second), true},       // the same QR again
		{a, t0.Add(15 * time.Second), t0, false}, // the next QR of the same credential
		{b, t0, t0, false},                       // another credential
		{b, t0, t0.Add(2 * time.Second), true},
	}
	for i, s := range steps {
		if got := c.Seen(s.cti, s.iat, s.now, forget); got != s.seen {
			t.Fatalf("step %d: Seen = %v; want %v", i, got, s.seen)
		}
	}
	// Full: the oldest entry (a, t0) goes first.
	c.Seen(b, t0.Add(30*time.Second), t0, forget)
	if c.Len() != 3 {
		t.Errorf("Len = %d; want the capacity 3", c.Len())
	}
	if c.Seen(a, t0.Add(15*time.Second), t0, forget) != true {
		t.Error("a newer entry was forgotten before the oldest")
	}
	// Expired entries are forgotten.
	if c.Seen(a, t0.Add(45*time.Second), forget.Add(time.Second), forget.Add(time.Minute)); c.Len() != 1 {
		t.Errorf("Len after expiry = %d; want 1", c.Len())
	}
}

func TestTrustUpdater(t *testing.T) {
	issuer, other := readKey(t, "issuer-key.pem"), readKey(t, "other-key.pem")
	var served atomic.Pointer[[]byte]
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() || r.URL.Path != "/.well-known/jwks.json" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(*served.Load())
	}))
	defer srv.Close()
	serve := func(keys ...*ecdsa.PrivateKey) {
		b := jwksOf(t, keys...)
		served.Store(&b)
	}
	kid := func(k *ecdsa.PrivateKey) string {
		s, _ := credential.KeyIDString(&k.PublicKey)
		return s
	}
	ctx := context.Background()

	serve(issuer)
	u, err := NewTrustUpdater(ctx, srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Key(kid(issuer)); !ok || u.List().Len() != 1 {
		t.Fatalf("first fetch: %d keys", u.List().Len())
	}
	serve(issuer, other) // a rotation
	if err := u.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Key(kid(other)); !ok {
		t.Error("the rotated-in key is missing after Refresh")
	}
	fail.Store(true) // offline: the last good list stays
	if err := u.Refresh(ctx); err == nil {
		t.Error("Refresh against a failing authority succeeded")
	}
	if _, ok := u.Key(kid(other)); !ok || u.List().Len() != 2 {
		t.Error("a failed refresh dropped the last good list")
	}
	if _, err := NewTrustUpdater(ctx, srv.Client(), srv.URL); err == nil {
		t.Error("NewTrustUpdater without a first list succeeded")
	}
}

// FuzzVerify: any scanned text gets a decision without panicking; text the
// parser refuses is `format`, and nothing unsigned is ever accepted.
func FuzzVerify(f *testing.F) {
	for _, c := range readVectorsF(f).Cases {
		f.Add(c.Text)
	}
	f.Add("EP1:")
	f.Add("")
	trust, err := ParseTrustList(readVectorsF(f).JWKS, "vectors", vScan)
	if err != nil {
		f.Fatal(err)
	}
	v := New(trust, fixedStatus("valid"), Policy{Use: UseFlight})
	f.Fuzz(func(t *testing.T, text string) {
		r := v.Verify(context.Background(), text, vScan)
		if _, err := credential.ParseQR(text); err != nil && r.Code != CodeFormat {
			t.Fatalf("unparsable text gave %s %s", r.Decision, r.Code)
		}
		if r.Accepted() && (r.Credential == nil || r.Holder == nil) {
			t.Fatalf("accepted without credential or holder data")
		}
	})
}

// A status list's age is now − its iat, never below zero, for both kinds of
// verification: it is what MaxStatusAge limits and what the result shows,
// and a list dated later than now plus the policy's skew is not trusted.
func TestStatusAgeFromIssuedAt(t *testing.T) {
	issuer, holder := readKey(t, "issuer-key.pem"), readKey(t, "holder-key.pem")
	trust := trustOf(t, issuer)
	epermit := present(t, sign(t, fixtureClaims(&holder.PublicKey), issuer), holder, vProof)
	linkage := presentLinkage(t, issueLinkage(t, issuer, linkageClaims(&holder.PublicKey)), holder, lAud, lNonce, lProof)
	secs := func(s float64) *float64 { return &s }
	tests := []struct {
		name    string
		age     time.Duration // now − iat; negative: iat in the future
		maxAge  time.Duration
		skew    time.Duration
		unknown bool     // the warning status_unknown instead of revoked
		shown   *float64 // status_age_seconds
	}{
		{name: "a minute old", age: time.Minute, shown: secs(60)},
		{name: "two hours old, no maximum", age: 2 * time.Hour, shown: secs(7200)},
		{name: "two hours old, maximum one hour", age: 2 * time.Hour, maxAge: time.Hour, unknown: true, shown: secs(7200)},
		{name: "two hours old, maximum three hours", age: 2 * time.Hour, maxAge: 3 * time.Hour, shown: secs(7200)},
		{name: "iat within the skew ahead", age: -4 * time.Minute, shown: secs(0)},
		{name: "iat at the skew ahead", age: -DefaultSkew, shown: secs(0)},
		{name: "iat beyond the skew ahead", age: -DefaultSkew - time.Second, unknown: true},
		{name: "iat a day ahead", age: -24 * time.Hour, unknown: true},
		{name: "iat beyond a stricter skew", age: -2 * time.Minute, skew: time.Minute, unknown: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := agedStatus{StatusRevoked, tc.age}
			check := func(kind string, d Decision, code Code, warnings []Code, age *float64) {
				t.Helper()
				want, wantCode := Reject, CodeRevoked
				if tc.unknown {
					want, wantCode = AcceptWithWarning, ""
				}
				if d != want || code != wantCode || (tc.unknown && (len(warnings) != 1 || warnings[0] != WarnStatusUnknown)) {
					t.Errorf("%s: %s %q %v; want %s %q", kind, d, code, warnings, want, wantCode)
				}
				if (age == nil) != (tc.shown == nil) || (age != nil && *age != *tc.shown) {
					t.Errorf("%s: status age %v; want %v", kind, deref(age), deref(tc.shown))
				}
			}
			v := New(trust, src, Policy{Use: UseTrain, MaxStatusAge: tc.maxAge, Skew: tc.skew})
			r := v.Verify(context.Background(), epermit, vScan)
			check("e-permit", r.Decision, r.Code, r.Warnings, r.Credential.StatusAge)
			lr := VerifyLinkage(context.Background(), trust, src, linkage,
				LinkagePolicy{Audience: lAud, Nonce: lNonce, MaxStatusAge: tc.maxAge, Skew: tc.skew}, lNow)
			check("linkage proof", lr.Decision, lr.Code, lr.Warnings, lr.Credential.StatusAge)
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
