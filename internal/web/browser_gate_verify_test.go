package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fxamacker/cbor/v2"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/verify"
)

// pageCase is one verification for the gate page's verifier (static/js/
// ep1.js) and the Go verifier: text at At for Use, with the trust list
// JWKS, a status list token held from EarlierAt and one served at At
// (base64url; "" for none), and the gate's maximum status list age.
type pageCase struct {
	Name         string          `json:"name"`
	Text         string          `json:"text"`
	At           time.Time       `json:"at"`
	Use          verify.Use      `json:"use"`
	JWKS         json.RawMessage `json:"jwks"`
	Scans        int             `json:"scans"`
	StatusList   string          `json:"status_list"`
	Earlier      string          `json:"earlier_status_list"`
	EarlierAt    time.Time       `json:"earlier_at"`
	MaxStatusAge int             `json:"max_status_age"`
}

// pageResult is what either verifier decided.
type pageResult struct {
	Decision  string   `json:"decision"`
	Code      string   `json:"code"`
	Warnings  []string `json:"warnings"`
	StatusAge *float64 `json:"status_age"`
	Error     string   `json:"error"`
}

// runPageCases is the harness the page runs: for each case a fresh trust
// list, status store and replay cache, the earlier list taken at its time,
// the served list offered at the scan when the one held needs refreshing
// (as verify.StatusCache fetches), then the scans.
const runPageCases = `(async (cases) => {
  const out = [];
  const secs = (s) => Math.floor(Date.parse(s) / 1000);
  for (const c of cases) {
    try {
      const trust = await EP1.importTrustList(c.jwks);
      const store = new EP1.StatusStore(300);
      const now = secs(c.at);
      const uri = (() => { try { return EP1.parseQR(c.text).claims.uri; } catch (e) { return null; } })();
      if (uri && c.earlier_status_list) {
        await store.offer(uri, EP1.unb64url(c.earlier_status_list), trust, secs(c.earlier_at));
      }
      if (uri && c.status_list && EP1.needsRefresh(store.get(uri), now, 300, c.max_status_age)) {
        await store.offer(uri, EP1.unb64url(c.status_list), trust, now).catch(() => {});
      }
      const replay = new EP1.ReplayCache(100000);
      let r;
      for (let i = 0; i < Math.max(c.scans, 1); i++) {
        r = await EP1.verify(c.text, now, { trust, status: store, replay,
          policy: { use: c.use, maxStatusAge: c.max_status_age } });
      }
      out.push({ decision: r.decision, code: r.code || "", warnings: r.warnings || [],
        status_age: r.credential && typeof r.credential.status_age_seconds === "number" ? r.credential.status_age_seconds : null });
    } catch (e) { out.push({ error: String(e && e.message || e) }); }
  }
  return out;
})(%s)`

// goPageCase runs a case through the Go verifier, its status cache
// fetching the earlier list first and then the served one.
func goPageCase(t *testing.T, c pageCase) pageResult {
	t.Helper()
	trust, err := verify.ParseTrustList(c.JWKS, "case", c.At)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		tok := c.StatusList
		if c.Earlier != "" && fetches.Add(1) == 1 {
			tok = c.Earlier
		}
		rec := httptest.NewRecorder()
		if tok == "" {
			rec.WriteHeader(http.StatusServiceUnavailable)
		} else {
			rec.Header().Set("Content-Type", credential.StatusListCWTType)
			rec.Write(must(base64.RawURLEncoding.DecodeString(tok)))
		}
		return rec.Result(), nil
	})
	maxAge := time.Duration(c.MaxStatusAge) * time.Second
	status := verify.NewStatusCache(trust, verify.StatusCacheOptions{Client: &http.Client{Transport: rt}, MaxAge: maxAge})
	if c.Earlier != "" {
		pr, err := credential.ParseQR(c.Text)
		if err != nil {
			t.Fatal(err)
		}
		status.Status(context.Background(), pr.Credential.Claims.Status.URI, 0, c.EarlierAt)
	}
	v := verify.New(trust, status, verify.Policy{Use: c.Use, MaxStatusAge: maxAge})
	var r *verify.Result
	for range max(c.Scans, 1) {
		r = v.Verify(context.Background(), c.Text, c.At)
	}
	out := pageResult{Decision: string(r.Decision), Code: string(r.Code), Warnings: []string{}}
	for _, w := range r.Warnings {
		out.Warnings = append(out.Warnings, string(w))
	}
	if r.Credential != nil {
		out.StatusAge = r.Credential.StatusAge
	}
	return out
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// vectorPageCases are every case of verify/testdata/vectors.json and the
// spec's vector (for trains and for border control).
func vectorPageCases(t *testing.T) []pageCase {
	t.Helper()
	var vf struct {
		JWKS  json.RawMessage `json:"jwks"`
		Cases []pageCase      `json:"cases"`
	}
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "vectors.json"))), &vf); err != nil {
		t.Fatal(err)
	}
	cases := vf.Cases
	for i := range cases {
		cases[i].JWKS = vf.JWKS
	}
	var spec pageCase
	if err := json.Unmarshal(must(os.ReadFile(filepath.Join("..", "..", "spec", "vectors", "ep1-good.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	for _, use := range []verify.Use{verify.UseTrain, verify.UseBorder} {
		c := spec
		c.Name, c.Use = "spec vector, "+string(use), use
		cases = append(cases, c)
	}
	return cases
}

// runInPage runs cases through the page's verifier.
func runInPage(t *testing.T, ctx context.Context, cases []pageCase) []pageResult {
	t.Helper()
	arg := must(json.Marshal(cases))
	return value(t, ctx, chromedp.Evaluate[[]pageResult](fmt.Sprintf(runPageCases, arg), chromedp.EvalAwaitPromise))
}

// verifierPage opens the gate page, whose verifier (EP1) the tests call
// in the page; on SQLite only (it skips t on any other engine), since the
// page's verifier does not touch the store.
func verifierPage(t *testing.T, db *store.DB) context.Context {
	t.Helper()
	if db.Engine() != store.SQLite {
		t.Skip("the page's verifier does not touch the store: one engine is enough")
	}
	ctx := browser(t)
	srv, _, _ := pagesServer(t, db)
	do(t, ctx, "open the gate", chromedp.Navigate(srv.URL+"/gate"), chromedp.Poll[chromedp.Void](`typeof EP1 === "object"`))
	return ctx
}

// TestBrowserGateVerifierVectors: every vector through the gate page's
// verifier in Chromium gives the Go verifier's decision, code, warnings and
// status age.
func TestBrowserGateVerifierVectors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := verifierPage(t, db)
		cases := append(vectorPageCases(t), mutantPageCases(t)...)
		got := runInPage(t, ctx, cases)
		if len(got) != len(cases) {
			t.Fatalf("the page answered %d cases of %d", len(got), len(cases))
		}
		seen := map[string]bool{}
		for i, c := range cases {
			want := goPageCase(t, c)
			g := got[i]
			if g.Warnings == nil {
				g.Warnings = []string{}
			}
			if g.Error != "" || g.Decision != want.Decision || g.Code != want.Code || !slices.Equal(g.Warnings, want.Warnings) ||
				!sameAge(g.StatusAge, want.StatusAge) {
				t.Errorf("%s: page %s %q %v age %v (%s); Go %s %q %v age %v", c.Name, g.Decision, g.Code, g.Warnings, ptr(g.StatusAge), g.Error,
					want.Decision, want.Code, want.Warnings, ptr(want.StatusAge))
			}
			seen[g.Code] = true
		}
		var codes []string
		for c := range seen {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		t.Logf("%d cases; codes seen: %v", len(cases), codes)
	})
}

// mutantPageCases are the valid vector with its CBOR altered: each byte in
// turn with one of three bits flipped, and cut short at a few lengths, so
// that the page's CBOR, COSE and claim rules are held to the Go decoder's
// on inputs no vector was written for.
func mutantPageCases(t *testing.T) []pageCase {
	t.Helper()
	var valid pageCase
	for _, c := range vectorPageCases(t) {
		if c.Name == "valid" {
			valid = c
		}
	}
	b, err := credential.DecodeBase45(strings.TrimPrefix(valid.Text, credential.QRPrefix))
	if err != nil {
		t.Fatal(err)
	}
	var out []pageCase
	add := func(name string, m []byte) {
		c := valid
		c.Name, c.Text = name, credential.EncodeQR(m)
		out = append(out, c)
	}
	for i := range b {
		m := slices.Clone(b)
		m[i] ^= []byte{0x01, 0x20, 0x80}[i%3]
		add(fmt.Sprintf("byte %d flipped", i), m)
	}
	for _, n := range []int{0, 1, 2, 10, len(b) / 2, len(b) - 1} {
		add(fmt.Sprintf("cut to %d bytes", n), b[:n])
	}
	add("a byte after the presentation", append(slices.Clone(b), 0))
	add("indefinite-length presentation", append(append([]byte{0x9f}, b[1:]...), 0xff))
	// Rebuilt credentials: the parse must fail (format) or pass on to
	// the signature (bad_signature) exactly where Go's does.
	var parts [][]byte
	if err := cbor.Unmarshal(b, &parts); err != nil || len(parts) != 2 {
		t.Fatalf("the valid vector is not [credential, proof]: %v", err)
	}
	var sign1 cbor.Tag
	if err := cbor.Unmarshal(parts[0], &sign1); err != nil {
		t.Fatal(err)
	}
	fields := sign1.Content.([]any)
	rebuilt := func(name string, protected []byte, claim any) {
		f := slices.Clone(fields)
		if protected != nil {
			f[0] = protected
		}
		if claim != nil {
			var payload map[any]any
			if err := cbor.Unmarshal(f[2].([]byte), &payload); err != nil {
				t.Fatal(err)
			}
			payload[uint64(99)] = claim
			f[2] = must(cbor.Marshal(payload))
		}
		cred := must(cbor.Marshal(cbor.Tag{Number: 18, Content: f}))
		add(name, must(cbor.Marshal([][]byte{cred, parts[1]})))
	}
	rebuilt("protected header with a duplicate key", []byte{0xa2, 0x01, 0x26, 0x01, 0x26}, nil)
	rebuilt("protected header with 1: -7 in a wider integer", []byte{0xa1, 0x01, 0x38, 0x06}, nil)
	rebuilt("protected header with the alg as text", []byte{0xa1, 0x01, 0x65, 'E', 'S', '2', '5', '6'}, nil)
	rebuilt("protected header with an indefinite map", []byte{0xbf, 0x01, 0x26, 0xff}, nil)
	rebuilt("protected header with crit", []byte{0xa2, 0x01, 0x26, 0x02, 0x81, 0x01}, nil)
	nest := func(depth int) any {
		var v any = 1
		for range depth {
			v = []any{v}
		}
		return v
	}
	for depth := 6; depth <= 8; depth++ { // the claims map is level 1: 7 is the deepest allowed
		rebuilt(fmt.Sprintf("an unknown claim nested %d deep", depth), nil, nest(depth))
	}
	rebuilt("an unknown claim holding a float", nil, 1.5)
	rebuilt("an unknown claim holding a tag", nil, cbor.Tag{Number: 1, Content: 0})
	rebuilt("an unknown claim holding a map with a duplicate key", nil, cbor.RawMessage{0xa2, 0x01, 0x01, 0x01, 0x02})
	rebuilt("an unknown claim holding a map keyed by an array", nil, cbor.RawMessage{0xa1, 0x80, 0x01})
	rebuilt("an unknown claim holding bad UTF-8", nil, cbor.RawMessage{0x62, 0xc3, 0x28})
	return out
}

func sameAge(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func ptr(a *float64) any {
	if a == nil {
		return "none"
	}
	return *a
}

// TestBrowserGateVerifierSM2: WebCrypto has no SM2, so the page answers an
// e-permit signed with an SM2 key (spec §1.1) "needs_online" once checks
// 1–5 pass, and decides like the Go verifier up to there and for every
// ES256 e-permit beside SM2 keys. It runs verify/testdata/vectors-sm2.json,
// which comes with the SM2 suite, and is skipped where that file is not.
func TestBrowserGateVerifierSM2(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "vectors-sm2.json"))
	if os.IsNotExist(err) {
		t.Skip("no SM2 vectors: the SM2 suite is not in this tree")
	}
	var vf struct {
		JWKS  json.RawMessage `json:"jwks"`
		Cases []struct {
			pageCase
			Decision string   `json:"decision"`
			Code     string   `json:"code"`
			Warnings []string `json:"warnings"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(must(b, err), &vf); err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kid, Crv string } `json:"keys"`
	}
	json.Unmarshal(vf.JWKS, &jwks)
	sm2 := map[string]bool{}
	for _, k := range jwks.Keys {
		sm2[k.Kid] = k.Crv == "SM2"
	}
	var cases []pageCase
	for _, c := range vf.Cases {
		c.JWKS = vf.JWKS
		cases = append(cases, c.pageCase)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := verifierPage(t, db)
		got := runInPage(t, ctx, cases)
		for i, c := range vf.Cases {
			want := pageResult{Decision: c.Decision, Code: c.Code, Warnings: c.Warnings}
			if pr, err := credential.ParseQR(c.Text); err == nil && sm2[pr.Credential.KidText()] &&
				!slices.Contains([]string{"format", "unknown_key", "algorithm"}, c.Code) {
				want = pageResult{Decision: "needs_online", Code: "sm2"}
			}
			if want.Warnings == nil {
				want.Warnings = []string{}
			}
			g := got[i]
			if g.Error != "" || g.Decision != want.Decision || g.Code != want.Code || !slices.Equal(g.Warnings, want.Warnings) {
				t.Errorf("%s: page %s %q %v (%s); want %s %q %v", c.Name, g.Decision, g.Code, g.Warnings, g.Error, want.Decision, want.Code, want.Warnings)
			}
		}
	})
}
