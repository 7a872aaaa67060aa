package web

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gmsm "github.com/emmansun/gmsm/sm2"

	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// trustServed is what the test server answers at the well-known paths of
// the root and the signed trust list (spec §1.2), set by the test: the
// lists a gate may be offered from any channel.
type trustServed struct {
	mu   sync.Mutex
	root []byte // DER; nil: 404
	list string // "": 404
}

func (s *trustServed) set(root []byte, list string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.root, s.list = root, list
}

func (s *trustServed) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		root, list := s.root, s.list
		s.mu.Unlock()
		switch r.URL.Path {
		case "/.well-known/epermit-root.pem":
			if root == nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/x-pem-file")
			w.Write(pki.EncodePEM("CERTIFICATE", root))
		case "/.well-known/epermit-trust-list":
			if list == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", pki.TrustListMediaType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(list))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// testRoot is an authority root made for a test.
type testRoot struct {
	key  crypto.Signer
	cert *pki.Certificate
}

func newTestRoot(t *testing.T, alg, name string) testRoot {
	t.Helper()
	var key crypto.Signer
	if alg == "SM2" {
		key = must(gmsm.GenerateKey(rand.Reader))
	} else {
		key = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	}
	now := time.Now()
	der := must(pki.NewRoot(key, name, now.Add(-400*24*time.Hour), now.Add(20*365*24*time.Hour)))
	return testRoot{key, must(pki.ParseCertificate(der))}
}

// ds certifies pub (its usage period [from, until], the certificate
// valid until notAfter), as `epermit root sign` does.
func (r testRoot) ds(t *testing.T, pub *ecdsa.PublicKey, from, until, notAfter time.Time) []byte {
	t.Helper()
	kid := must(credential.KeyIDString(pub))
	return must(pki.IssueDocumentSigner(r.cert, r.key, &pki.CSR{PublicKey: pub, KeyID: kid,
		Subject: pki.DocumentSignerSubject(kid), UsageNotBefore: from, UsageNotAfter: until}, notAfter))
}

// list signs a trust list as `epermit root sign-list` does.
func (r testRoot) list(t *testing.T, seq uint64, iat, exp time.Time, certs [][]byte, revoked ...pki.RevokedKey) string {
	t.Helper()
	return must(pki.SignTrustList(pki.TrustListClaims{Issuer: "https://epermit.test", Seq: seq, IssuedAt: iat, Expiry: exp,
		Certificates: certs, Revoked: revoked}, r.cert, r.key, nil))
}

// resign edits a signed list's header and claims and signs it again with
// r's key, to make lists SignTrustList refuses to: a key certificate of
// another root, a header naming a root that did not sign.
func (r testRoot) resign(t *testing.T, list string, edit func(header, claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(list, ".")
	var h, c map[string]any
	must(0, json.Unmarshal(must(base64.RawURLEncoding.DecodeString(parts[0])), &h))
	must(0, json.Unmarshal(must(base64.RawURLEncoding.DecodeString(parts[1])), &c))
	edit(h, c)
	input := base64.RawURLEncoding.EncodeToString(must(json.Marshal(h))) + "." + base64.RawURLEncoding.EncodeToString(must(json.Marshal(c)))
	sig, _, err := credential.SignMessage(r.key, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// issuerKeys are the authority's published issuer keys, by kid.
func issuerKeys(t *testing.T, a *authority.Authority) map[string]*ecdsa.PublicKey {
	t.Helper()
	set := must(a.TrustList(authority.WithActor(context.Background(), "test")))
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		out[k.Kid] = must(k.Key())
	}
	return out
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// gateTrust reads what the gate page says of its trust data: the pinned
// root's fingerprint, the seq of the list it uses, and the code of the
// last list it refused.
func gateTrust(t *testing.T, ctx context.Context) (fp, seq, refused string) {
	t.Helper()
	type st struct{ FP, Seq, Refused string }
	s := value(t, ctx, chromedp.Evaluate[st](`(() => {
		const d = (k, a) => { const e = document.querySelector('#data-state li[data-kind=' + k + ']'); return e ? e.dataset[a] || "" : ""; };
		return { FP: d("root", "fingerprint"), Seq: d("trust", "seq"), Refused: d("refused", "code") };
	})()`))
	return s.FP, s.Seq, s.Refused
}

// refresh makes the page fetch the trust list now, as it does every ten
// minutes and at each load.
func refresh(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "refresh the trust list", chromedp.Evaluate[chromedp.Void](`EP.gate.refreshTrust()`, chromedp.EvalAwaitPromise))
}

// TestBrowserGateSignedTrustList: the gate page pins the authority's root
// at its first configuration, shows its fingerprint, and from then on takes
// issuer keys only from trust lists that root signed. A list signed by
// another root, an older list (rollback) and an expired list are refused,
// the held list kept; a key the list revokes answers key_revoked, a key
// outside its certificate's usage period or validity key_not_valid; a
// rotated key arrives in a new list; a root rollover is followed through
// the cross certificate; offline the page goes on with the list it holds,
// until that list expires (trust_list_expired).
func TestBrowserGateSignedTrustList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page decides on the device: one engine is enough")
		}
		ctx := browser(t)
		served := &trustServed{}
		srv, a, _ := pagesServerWrapped(t, db, permit.Policy{}, served.wrap)
		root, other := newTestRoot(t, "ES256", "Test Authority Root"), newTestRoot(t, "ES256", "Test Authority Root")
		now := time.Now()
		day := 24 * time.Hour
		var kid string
		var pub *ecdsa.PublicKey
		for k, p := range issuerKeys(t, a) {
			kid, pub = k, p
		}
		good := root.ds(t, pub, now.Add(-time.Hour), now.Add(90*day), now.Add(120*day))
		served.set(root.cert.Raw, root.list(t, 2, now.Add(-time.Minute), now.Add(30*day), [][]byte{good}))
		h := issueTo(t, a, 0)
		var last time.Time
		check := func(what string, h heldPermit, at time.Time, decision, code string) {
			t.Helper()
			if !at.After(last.Add(time.Second)) { // each scan a QR of its own second, never a replay
				at = last.Add(time.Second)
			}
			last = at
			if d, c, r := gateCheck(t, ctx, h.qrAt(t, at), "train"); d != decision || c != code {
				t.Errorf("%s: %s %s (%s); want %s %s", what, d, c, r, decision, code)
			}
		}

		do(t, ctx, "language", acceptLanguage("en"))
		gateReady(t, ctx, srv.URL+"/gate")
		do(t, ctx, "service worker", chromedp.Poll[chromedp.Void](`navigator.serviceWorker.controller !== null`))
		fp, seq, refused := gateTrust(t, ctx)
		if fp != fingerprint(root.cert.Raw) || seq != "2" || refused != "" {
			t.Fatalf("first configuration: root %s, list %s, refused %q; want root %s, list 2", fp, seq, refused, fingerprint(root.cert.Raw))
		}
		if s := value(t, ctx, chromedp.Text(chromedp.ID("data-state"))); !strings.Contains(s, fp) || !strings.Contains(s, "Trust list no. 2, signed by the root: 1 keys") {
			t.Errorf("the page's data state: %q", s)
		}
		check("the list of the pinned root", h, time.Now(), "accept", "")

		// Refused lists: the held one (seq 2) stays in use.
		for _, c := range []struct {
			what, list, code string
		}{
			{"a list signed by another root", other.list(t, 3, now, now.Add(30*day), [][]byte{other.ds(t, pub, now.Add(-time.Hour), now.Add(90*day), now.Add(120*day))}), "trust_list_signature"},
			{"another root's list naming the pinned root", other.resign(t, root.list(t, 3, now, now.Add(30*day), [][]byte{good}), func(map[string]any, map[string]any) {}), "trust_list_signature"},
			{"a key certified by another root", root.resign(t, root.list(t, 3, now, now.Add(30*day), [][]byte{good}), func(_, c map[string]any) {
				c["keys"].([]any)[0].(map[string]any)["x5c"] = []string{base64.StdEncoding.EncodeToString(other.ds(t, pub, now.Add(-time.Hour), now.Add(90*day), now.Add(120*day)))}
			}), "trust_list_signature"},
			{"an older list (rollback)", root.list(t, 1, now, now.Add(30*day), [][]byte{good}), "trust_list_rollback"},
			{"an expired list", root.list(t, 3, now.Add(-40*day), now.Add(-10*day), [][]byte{good}), "trust_list_expired"},
			{"a list from the future", root.list(t, 3, now.Add(day), now.Add(30*day), [][]byte{good}), "trust_list_not_yet_valid"},
		} {
			served.set(root.cert.Raw, c.list)
			refresh(t, ctx)
			if fp2, seq, refused := gateTrust(t, ctx); fp2 != fp || seq != "2" || refused != c.code {
				t.Errorf("%s: root %s, list %s, refused %q; want the same root, list 2, refused %s", c.what, fp2, seq, refused, c.code)
			}
			check(c.what+", then a scan", h, time.Now(), "accept", "")
		}

		// Lists the root signed that withdraw the key or limit it.
		for _, c := range []struct {
			what string
			seq  uint64
			ds   [][]byte
			rev  []pki.RevokedKey
			code string
		}{
			{"the key revoked", 3, nil, []pki.RevokedKey{{Kid: kid, RevokedAt: now}}, "key_revoked"},
			{"the key past its usage period", 4, [][]byte{root.ds(t, pub, now.Add(-10*day), now.Add(-day), now.Add(30*day))}, nil, "key_not_valid"},
			{"the key's certificate expired", 5, [][]byte{root.ds(t, pub, now.Add(-60*day), now.Add(-50*day), now.Add(-20*day))}, nil, "key_not_valid"},
		} {
			served.set(root.cert.Raw, root.list(t, c.seq, now, now.Add(30*day), c.ds, c.rev...))
			refresh(t, ctx)
			if _, seq, refused := gateTrust(t, ctx); seq != fmt.Sprint(c.seq) || refused != "" {
				t.Fatalf("%s: list %s, refused %q; want list %d taken", c.what, seq, refused, c.seq)
			}
			check(c.what, h, time.Now(), "reject", c.code)
		}

		// A rotated key reaches the gate in a new signed list.
		if _, err := a.RotateKey(authority.WithActor(context.Background(), "test")); err != nil {
			t.Fatal(err)
		}
		var certs [][]byte
		for _, p := range issuerKeys(t, a) {
			certs = append(certs, root.ds(t, p, now.Add(-time.Hour), now.Add(90*day), now.Add(120*day)))
		}
		served.set(root.cert.Raw, root.list(t, 6, now, now.Add(30*day), certs))
		refresh(t, ctx)
		rotated := issueTo(t, a, 2)
		check("an e-permit signed with the rotated key", rotated, time.Now(), "accept", "")

		// Root rollover: the new root's list carries the cross certificate
		// the old root issued; the page follows it, and refuses the old
		// root's lists from then on.
		next := newTestRoot(t, "ES256", "Test Authority Root 2")
		cross := must(pki.NewCrossCertificate(root.cert, root.key, next.cert, now.Add(365*day)))
		var nextCerts [][]byte
		for _, p := range issuerKeys(t, a) {
			nextCerts = append(nextCerts, next.ds(t, p, now.Add(-time.Hour), now.Add(90*day), now.Add(120*day)))
		}
		rolled := must(pki.SignTrustList(pki.TrustListClaims{Issuer: "https://epermit.test", Seq: 7, IssuedAt: now, Expiry: now.Add(30 * day),
			Certificates: nextCerts}, next.cert, next.key, cross))
		served.set(root.cert.Raw, rolled)
		refresh(t, ctx)
		if fp2, seq, refused := gateTrust(t, ctx); fp2 != fingerprint(cross) || seq != "7" || refused != "" {
			t.Errorf("rollover: root %s, list %s, refused %q; want the cross certificate %s, list 7", fp2, seq, refused, fingerprint(cross))
		}
		check("after the rollover", rotated, time.Now(), "accept", "")
		served.set(root.cert.Raw, root.list(t, 8, now, now.Add(30*day), certs))
		refresh(t, ctx)
		if _, seq, refused := gateTrust(t, ctx); seq != "7" || refused != "trust_list_signature" {
			t.Errorf("the old root's list after the rollover: list %s, refused %q; want list 7 kept, trust_list_signature", seq, refused)
		}

		// Offline, the page decides with the list it holds, until its exp.
		do(t, ctx, "go offline", offline())
		srv.Close()
		gateReady(t, ctx, srv.URL+"/gate")
		if _, seq, _ := gateTrust(t, ctx); seq != "7" {
			t.Errorf("offline after a reload: list %s; want 7", seq)
		}
		check("offline, with the held list", rotated, time.Now(), "accept", "")
		later := 31 * day
		do(t, ctx, "the clock a month later", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
			`Date.now = ((f) => () => f() + %d)(Date.now.bind(Date))`, later.Milliseconds())))
		check("offline, the held list past its exp", rotated, time.Now().Add(later), "reject", "trust_list_expired")
	})
}

// TestBrowserGateSM2Root: with a root on the SM2 curve the page says it
// cannot check the trust list on the device, and checks e-permits online.
func TestBrowserGateSM2Root(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page decides on the device: one engine is enough")
		}
		ctx := browser(t)
		served := &trustServed{}
		srv, a, _ := pagesServerWrapped(t, db, permit.Policy{}, served.wrap)
		root := newTestRoot(t, "SM2", "Test SM2 Root")
		served.set(root.cert.Raw, "")
		_, key, err := a.AddClient(authority.WithActor(context.Background(), "test"), permit.RoleVerifier, "Gate 1", "railway")
		if err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "language", acceptLanguage("en"))
		gateReady(t, ctx, srv.URL+"/gate")
		if fp, _, _ := gateTrust(t, ctx); fp != fingerprint(root.cert.Raw) {
			t.Errorf("root shown %q; want %s", fp, fingerprint(root.cert.Raw))
		}
		if s := value(t, ctx, chromedp.Text(chromedp.ID("data-state"))); !strings.Contains(s, "cannot check") {
			t.Errorf("the page's data state does not say it cannot check the list: %q", s)
		}
		do(t, ctx, "key", chromedp.SendKeys(chromedp.ID("api-key"), key))
		if d, c, r := gateCheck(t, ctx, issueTo(t, a, 0).qrAt(t, time.Now()), "train"); d != "accept" {
			t.Errorf("with an SM2 root: %s %s (%s); want accept (online)", d, c, r)
		}
		if where := value(t, ctx, chromedp.AttributeValue(chromedp.ID("result"), "data-where")).Value; where != "online" {
			t.Errorf("decided %s; want online", where)
		}
	})
}

// runTrustListVectors is the harness the page runs on
// verify/testdata/trustlist-vectors.json, as its description says, with
// the gate page's rules: lists taken in order (an equal seq keeps the list
// held, an accepted list's root is the root from then on), then the list
// offered or the presentation verified with no status list to be had.
const runTrustListVectors = `(async (v) => {
  const secs = (s) => Math.floor(Date.parse(s) / 1000);
  const setup = async (root) => {
    const g = { root: await EP1.parseRoot(v.roots[root]), held: null };
    g.offer = async (name, now) => {
      const l = await EP1.acceptTrustList(v.lists[name], g.root, g.held, now, 300);
      if (g.held && l.seq === g.held.seq) { return; }
      g.held = l; g.root = l.root;
    };
    return g;
  };
  const lists = [], presentations = [];
  for (const c of v.list_cases) {
    const g = await setup(c.root);
    let code = "";
    try {
      for (const n of c.held || []) { await g.offer(n, secs(c.held_at)); }
      try { await g.offer(c.list, secs(c.at)); } catch (e) { code = e.code || "error: " + e.message; }
    } catch (e) { code = "held list refused: " + (e.code || e.message); }
    lists.push({ name: c.name, code, seq: g.held ? g.held.seq : 0, kids: g.held ? Array.from(g.held.trust.keys.keys()).sort() : [] });
  }
  for (const c of v.presentation_cases) {
    const g = await setup(c.root);
    let r;
    try {
      for (const n of c.lists) { await g.offer(n, secs(c.lists_at)); }
      r = await EP1.verify(c.text, secs(c.at), { trust: g.held.trust, status: null, replay: new EP1.ReplayCache(10),
        policy: { use: c.use, skew: 300, proofWindow: 60 } });
    } catch (e) { r = { decision: "error", code: e.code || e.message }; }
    presentations.push({ name: c.name, decision: r.decision, code: r.code || "", warnings: r.warnings || [] });
  }
  return { lists, presentations };
})(%s)`

// TestBrowserGateTrustListVectors: every case of
// verify/testdata/trustlist-vectors.json (the Go verifier's golden
// vectors) through the gate page's trust list code in Chromium gives the
// Go verifier's answer: the code, the seq and keys held after each list,
// and each presentation's decision, code and warnings. A root on the SM2
// curve cannot be checked in a browser: its lists are refused
// (trust_list_signature), and the page says so and checks online; an SM2
// key an ES256 root certified is listed, and what it signed gets
// needs_online, as every SM2 e-permit does on the page.
func TestBrowserGateTrustListVectors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page's verifier does not touch the store: one engine is enough")
		}
		raw := must(os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "trustlist-vectors.json")))
		var vf struct {
			ListCases []struct {
				Name, Root, Code string
				Seq              uint64
				Kids             []string
			} `json:"list_cases"`
			PresentationCases []struct {
				Name, Root, Decision, Code string
				Warnings                   []string
			} `json:"presentation_cases"`
		}
		if err := json.Unmarshal(raw, &vf); err != nil {
			t.Fatal(err)
		}
		ctx := browser(t)
		srv, _, _ := pagesServer(t, db)
		do(t, ctx, "open the gate", chromedp.Navigate(srv.URL+"/gate"), chromedp.Poll[chromedp.Void](`typeof EP1 === "object" && !!EP1.acceptTrustList`))
		type listGot struct {
			Name, Code string
			Seq        uint64
			Kids       []string
		}
		type presGot struct {
			Name, Decision, Code string
			Warnings             []string
		}
		got := value(t, ctx, chromedp.Evaluate[struct {
			Lists         []listGot
			Presentations []presGot
		}](fmt.Sprintf(runTrustListVectors, raw), chromedp.EvalAwaitPromise))
		if len(got.Lists) != len(vf.ListCases) || len(got.Presentations) != len(vf.PresentationCases) {
			t.Fatalf("the page answered %d list and %d presentation cases; want %d and %d", len(got.Lists), len(got.Presentations), len(vf.ListCases), len(vf.PresentationCases))
		}
		sm2 := 0
		for i, c := range vf.ListCases {
			g := got.Lists[i]
			if c.Root == "sm2-root" {
				sm2++
				if g.Code != "trust_list_signature" {
					t.Errorf("list case %q (SM2 root): the page says %q; want trust_list_signature (it cannot check SM2)", c.Name, g.Code)
				}
				continue
			}
			if c.Kids == nil {
				c.Kids = []string{}
			}
			slices.Sort(c.Kids)
			if g.Code != c.Code || g.Seq != c.Seq || !slices.Equal(g.Kids, c.Kids) {
				t.Errorf("list case %q: the page says code %q, seq %d, keys %v; want %q, %d, %v", c.Name, g.Code, g.Seq, g.Kids, c.Code, c.Seq, c.Kids)
			}
		}
		for i, c := range vf.PresentationCases {
			g := got.Presentations[i]
			if c.Root == "sm2-root" {
				sm2++
				continue // no list to verify with in a browser: the page checks online
			}
			if g.Decision == "needs_online" && g.Code == "sm2" && strings.Contains(c.Name, "SM2") && c.Decision != "reject" {
				sm2++ // an SM2 key under an ES256 root: listed, but its signature is the online check's
				continue
			}
			if c.Warnings == nil {
				c.Warnings = []string{}
			}
			if g.Decision != c.Decision || g.Code != c.Code || !slices.Equal(g.Warnings, c.Warnings) {
				t.Errorf("presentation case %q: the page says %s %q %v; want %s %q %v", c.Name, g.Decision, g.Code, g.Warnings, c.Decision, c.Code, c.Warnings)
			}
		}
		t.Logf("%d list and %d presentation cases compared, %d SM2 cases left to the online check", len(vf.ListCases), len(vf.PresentationCases), sm2)
	})
}

// runListMutants offers each mutant list to the page's trust list code
// (root and held list as in the vectors) and returns each code ("" for
// accepted).
const runListMutants = `(async (v, mutants) => {
  const secs = (s) => Math.floor(Date.parse(s) / 1000);
  const root0 = await EP1.parseRoot(v.roots.root);
  const held = await EP1.acceptTrustList(v.lists.L7, root0, null, secs(v.at), 300);
  const out = [];
  for (const m of mutants) {
    try { await EP1.acceptTrustList(m, held.root, held, secs(v.at), 300); out.push(""); }
    catch (e) { out.push(e.code || "error: " + e.message); }
  }
  return out;
})(%s, %s)`

// TestBrowserGateTrustListMutants: a root-rollover list of the vectors
// (L9-rollover, offered to a gate holding L7) altered at every third
// character, and cut short, is refused by the page's trust list code with
// the Go verifier's code, or accepted by both (an alteration that changes
// nothing the checks read, like base64 padding bits, never occurs: both
// decode strictly).
func TestBrowserGateTrustListMutants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Engine() != store.SQLite {
			t.Skip("the page's verifier does not touch the store: one engine is enough")
		}
		raw := must(os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "trustlist-vectors.json")))
		var vf struct {
			Roots map[string]string `json:"roots"`
			Lists map[string]string `json:"lists"`
		}
		must(0, json.Unmarshal(raw, &vf))
		at := "2026-12-01T03:00:10Z"
		now := must(time.Parse(time.RFC3339, at))
		root := must(verify.ParseRoot([]byte(vf.Roots["root"])))
		held := must(verify.ParseSignedTrustList([]byte(vf.Lists["L7"]), root, nil, "L7", now))
		base := vf.Lists["L9-rollover"]
		var mutants []string
		for i := 0; i < len(base); i += 3 {
			b := []byte(base)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			mutants = append(mutants, string(b))
		}
		for _, n := range []int{0, 1, 10, 100, len(base) / 3, len(base) / 2, len(base) - 100, len(base) - 1} {
			mutants = append(mutants, base[:n])
		}
		mutants = append(mutants, base)
		want := make([]string, len(mutants))
		for i, m := range mutants {
			if _, err := verify.ParseSignedTrustList([]byte(m), root, held, "mutant", now); err != nil {
				var le *verify.TrustListError
				if !errors.As(err, &le) {
					t.Fatalf("mutant %d: %v is not a TrustListError", i, err)
				}
				want[i] = string(le.Code)
			}
		}
		ctx := browser(t)
		srv, _, _ := pagesServer(t, db)
		do(t, ctx, "open the gate", chromedp.Navigate(srv.URL+"/gate"), chromedp.Poll[chromedp.Void](`typeof EP1 === "object" && !!EP1.acceptTrustList`))
		args := must(json.Marshal(map[string]any{"roots": vf.Roots, "lists": vf.Lists, "at": at}))
		got := value(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(runListMutants, args, must(json.Marshal(mutants))), chromedp.EvalAwaitPromise))
		if len(got) != len(mutants) {
			t.Fatalf("the page answered %d of %d", len(got), len(mutants))
		}
		counts := map[string]int{}
		for i := range mutants {
			counts[want[i]]++
			if got[i] != want[i] {
				t.Errorf("mutant %d: the page says %q, the Go verifier %q", i, got[i], want[i])
			}
		}
		if want[len(want)-1] != "" || counts["trust_list_signature"] == 0 || counts["trust_list_format"] == 0 {
			t.Errorf("the mutants do not cover both codes and the list itself: %v", counts)
		}
		t.Logf("%d mutants of L9-rollover: %v", len(mutants), counts)
	})
}
