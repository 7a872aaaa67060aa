package authority_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// testRoot is an offline root played in the test.
type testRoot struct {
	cert *pki.Certificate
	key  *ecdsa.PrivateKey
	seq  uint64
}

func newTestRoot(t testing.TB, name string, now time.Time) *testRoot {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := pki.NewRoot(key, name, now.Add(-time.Hour), now.AddDate(20, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testRoot{cert: cert, key: key}
}

// sign certifies the key behind a's request for kid, valid validity past
// its usage period.
func (r *testRoot) sign(t testing.TB, a *authority.Authority, kid string, validity time.Duration) []byte {
	t.Helper()
	der, err := a.KeyCSR(ctx, kid, 0)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.IssueDocumentSigner(r.cert, r.key, csr, csr.UsageNotAfter.Add(validity))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// list signs the authority's current request as the next list, issued at
// iat for life.
func (r *testRoot) list(t testing.TB, a *authority.Authority, iss string, iat time.Time, life time.Duration) []byte {
	t.Helper()
	req, err := a.RequestTrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := pki.TrustListClaims{Issuer: iss, IssuedAt: iat, Expiry: iat.Add(life)}
	for _, s := range req.Certificates {
		c.Certificates = append(c.Certificates, mustB64(t, s))
	}
	r.seq++
	c.Seq = r.seq
	l, err := pki.SignTrustList(c, r.cert, r.key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(l)
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64Std(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rootedAuthority is an authority with an active key certified by root,
// and the root's first list imported, at the clock's now.
func rootedAuthority(t testing.TB, db *store.DB, now time.Time) (*authority.Authority, *testRoot, *permit.IssuerKey) {
	t.Helper()
	// A notifier, so that readiness is down to the key.
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "https://epermit.test", Notifier: &phone{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(func() time.Time { return now })
	k, err := a.InitKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := newTestRoot(t, "Test root", now)
	if _, err := a.CertifyKey(ctx, k.Kid, root.sign(t, a, k.Kid, authority.LinkageValidity), root.cert.Raw, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.ImportTrustList(ctx, root.list(t, a, "https://epermit.test", now, 30*24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	return a, root, k
}

var trustNow = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)

func TestCertifyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAuthority(t, db)
		a.SetClock(func() time.Time { return trustNow })
		k, err := a.InitKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		root, other := newTestRoot(t, "Test root", trustNow), newTestRoot(t, "Other root", trustNow)
		good := root.sign(t, a, k.Kid, authority.LinkageValidity)
		otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csrDER, _ := pki.NewCSR(otherKey, trustNow, trustNow.Add(90*24*time.Hour))
		csr, _ := pki.ParseCSR(csrDER)
		notTheKey, _ := pki.IssueDocumentSigner(root.cert, root.key, csr, csr.UsageNotAfter.Add(authority.LinkageValidity))
		for _, tc := range []struct {
			name       string
			cert, root []byte
			code       permit.Code
			says       string
		}{
			{"the first without a root", good, nil, permit.ECodeInvalid, "--root"},
			{"another key's certificate", notTheKey, root.cert.Raw, permit.ECodeInvalid, "is for key"},
			{"from another root", other.sign(t, a, k.Kid, authority.LinkageValidity), root.cert.Raw, permit.ECodeInvalid, "not issued by the root"},
			{"too short for a linkage proof", root.sign(t, a, k.Kid, 7*24*time.Hour), root.cert.Raw, permit.ECodeInvalid, "--document-validity 30d"},
			{"the root itself", root.cert.Raw, root.cert.Raw, permit.ECodeInvalid, "CA"},
			{"not a certificate", []byte("junk"), root.cert.Raw, permit.ECodeInvalid, "certificate"},
		} {
			_, err := a.CertifyKey(ctx, k.Kid, tc.cert, tc.root, nil)
			if permit.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: %v (%s), want %s saying %q", tc.name, err, permit.ErrorCode(err), tc.code, tc.says)
			}
		}
		if _, err := a.TrustRoot(ctx); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("a root was recorded by refused certifications: %v", err)
		}
		if ws, err := a.TrustWarnings(ctx); err != nil || len(ws) != 0 {
			t.Errorf("TrustWarnings without a root: %q, %v", ws, err)
		}
		got, err := a.CertifyKey(ctx, k.Kid, good, root.cert.Raw, nil)
		if err != nil || string(got.Certificate) != string(good) {
			t.Fatalf("CertifyKey: %+v, %v", got, err)
		}
		if _, err := a.CertifyKey(ctx, k.Kid, other.sign(t, a, k.Kid, authority.LinkageValidity), other.cert.Raw, nil); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("certify with another root once one is recorded: %v, want conflict", err)
		}
		if der, err := a.TrustRoot(ctx); err != nil || string(der) != string(root.cert.Raw) {
			t.Errorf("TrustRoot = %v; want the first root", err)
		}
		for subject, action := range map[string]string{"kid:" + k.Kid: "key.certify", "root:" + root.cert.KeyID: "root.set"} {
			ev, err := a.AuditEvents(ctx, subject)
			if err != nil || len(ev) == 0 || ev[0].Action != action {
				t.Errorf("audit of %s: %+v, %v; want %s", subject, ev, err, action)
			}
		}
	})
}

func TestImportTrustList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, root, _ := rootedAuthority(t, db, trustNow)
		other := newTestRoot(t, "Other root", trustNow)
		day := 24 * time.Hour
		for _, tc := range []struct {
			name string
			doc  []byte
			code permit.Code
			says string
		}{
			{"signed by another root", func() []byte { other.seq = 9; return otherList(t, a, other, root) }(), permit.ECodeInvalid, "not signed by the root"},
			{"expired", root.list(t, a, "https://epermit.test", trustNow.Add(-31*day), 30*day), permit.ECodeInvalid, "expired"},
			{"for another authority", root.list(t, a, "https://elsewhere.test", trustNow, 30*day), permit.ECodeInvalid, "not this authority"},
			{"not a list", []byte("a.b.c"), permit.ECodeInvalid, "format"},
		} {
			_, _, err := a.ImportTrustList(ctx, tc.doc, nil)
			if permit.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: %v (%s), want %s saying %q", tc.name, err, permit.ErrorCode(err), tc.code, tc.says)
			}
		}
		// A later list goes in; the same again changes nothing; an earlier
		// one is a rollback.
		root.seq = 1
		two := root.list(t, a, "https://epermit.test", trustNow, 30*day)
		if rec, imported, err := a.ImportTrustList(ctx, two, nil); err != nil || !imported || rec.Seq != 2 {
			t.Fatalf("list 2: %+v, %v, %v", rec, imported, err)
		}
		if _, imported, err := a.ImportTrustList(ctx, two, nil); err != nil || imported {
			t.Errorf("list 2 again: %v, %v; want no change", imported, err)
		}
		root.seq = 1
		if _, _, err := a.ImportTrustList(ctx, root.list(t, a, "https://epermit.test", trustNow, 30*day), nil); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("another list 2: %v, want conflict", err)
		}
		root.seq = 0
		if _, _, err := a.ImportTrustList(ctx, root.list(t, a, "https://epermit.test", trustNow, 30*day), nil); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("a list 1 after 2: %v, want conflict", err)
		}
		if l, err := a.SignedTrustList(ctx); err != nil || l.Document != string(two) {
			t.Errorf("served list: %v", err)
		}
		if ev, err := a.AuditEvents(ctx, "trust_list:2"); err != nil || len(ev) != 1 || ev[0].Action != "trust_list.import" {
			t.Errorf("audit of list 2: %+v, %v", ev, err)
		}
	})
}

// otherList is a list for a's keys signed by other: their certificates
// come from root, so other cannot sign them; a list with no key of a, of
// other's own certificate, is what an attacker with another root has.
func otherList(t testing.TB, a *authority.Authority, other, root *testRoot) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, _ := pki.NewCSR(key, trustNow, trustNow.Add(90*24*time.Hour))
	csr, _ := pki.ParseCSR(csrDER)
	cert, err := pki.IssueDocumentSigner(other.cert, other.key, csr, csr.UsageNotAfter.Add(authority.LinkageValidity))
	if err != nil {
		t.Fatal(err)
	}
	l, err := pki.SignTrustList(pki.TrustListClaims{Issuer: "https://epermit.test", Seq: other.seq, IssuedAt: trustNow,
		Expiry: trustNow.Add(24 * time.Hour), Certificates: [][]byte{cert}}, other.cert, other.key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(l)
}

// Under a root: a rotation makes a pending key that signs nothing until
// activated, which needs its certificate and a list naming it; past the
// usage period the active key signs nothing and the authority is not ready.
func TestRotationUnderRoot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, root, k1 := rootedAuthority(t, db, trustNow)
		p, err := a.RotateKey(ctx)
		if err != nil || p.State != permit.KeyPending {
			t.Fatalf("RotateKey under a root: %+v, %v; want a pending key", p, err)
		}
		if _, err := a.RotateKey(ctx); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("a second rotation while a key is pending: %v, want conflict", err)
		}
		if err := a.Ready(ctx); err != nil {
			t.Errorf("ready with the old key while one is pending: %v", err)
		}
		if _, err := a.ActivateKey(ctx, p.Kid); permit.ErrorCode(err) != permit.ECodeConflict || !strings.Contains(err.Error(), "no certificate") {
			t.Errorf("activating an uncertified key: %v", err)
		}
		if _, err := a.CertifyKey(ctx, p.Kid, root.sign(t, a, p.Kid, authority.LinkageValidity), nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ActivateKey(ctx, p.Kid); permit.ErrorCode(err) != permit.ECodeConflict || !strings.Contains(err.Error(), "does not list") {
			t.Errorf("activating a key not in the list: %v", err)
		}
		if _, _, err := a.ImportTrustList(ctx, root.list(t, a, "https://epermit.test", trustNow, 30*24*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ActivateKey(ctx, k1.Kid); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Errorf("activating the active key: %v", err)
		}
		if got, err := a.ActivateKey(ctx, p.Kid); err != nil || got.State != permit.KeyActive {
			t.Fatalf("ActivateKey: %+v, %v", got, err)
		}
		ks, _ := a.Keys(ctx)
		for _, k := range ks {
			if k.Kid == k1.Kid && k.State != permit.KeyRetired {
				t.Errorf("the old key after activation: %s", k.State)
			}
		}
		if ev, err := a.AuditEvents(ctx, "kid:"+p.Kid); err != nil || ev[0].Action != "key.activate" {
			t.Errorf("audit of the activation: %+v, %v", ev, err)
		}
		// A pending key given up before activation is revoked and goes into
		// the next list's revoked.
		p3, err := a.RotateKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.RevokeKey(ctx, p3.Kid, "given up"); err != nil {
			t.Fatalf("revoking a pending key: %v", err)
		}
		if req, err := a.RequestTrustList(ctx); err != nil || len(req.Revoked) != 1 || req.Revoked[0].Kid != p3.Kid {
			t.Errorf("request after revoking the pending key: %+v, %v", req, err)
		}
		if ws, err := a.TrustWarnings(ctx); err != nil || len(ws) != 0 {
			t.Errorf("TrustWarnings with a fresh list and key: %q, %v", ws, err)
		}
		a.SetClock(func() time.Time { return trustNow.Add(25 * 24 * time.Hour) })
		if ws, err := a.TrustWarnings(ctx); err != nil || len(ws) != 1 || !strings.Contains(ws[0], "trust list 2 expires") {
			t.Errorf("TrustWarnings 5 days before the list's exp: %q, %v", ws, err)
		}
		a.SetClock(func() time.Time { return trustNow.Add(91 * 24 * time.Hour) })
		if err := a.Ready(ctx); permit.ErrorCode(err) != permit.ECodeNotReady || !strings.Contains(err.Error(), "stopped signing") {
			t.Errorf("ready past the usage period: %v", err)
		}
	})
}

// Parallel imports of one list record it once; parallel activations of
// one pending key activate it once (the store's LockTrust, on both
// engines).
func TestTrustConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a, root, _ := rootedAuthority(t, db, trustNow)
		p, err := a.RotateKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.CertifyKey(ctx, p.Kid, root.sign(t, a, p.Kid, authority.LinkageValidity), nil, nil); err != nil {
			t.Fatal(err)
		}
		doc := root.list(t, a, "https://epermit.test", trustNow, 30*24*time.Hour)
		const n = 8
		var mu sync.Mutex
		var wg sync.WaitGroup
		var imported, activated int
		for range n {
			wg.Go(func() {
				_, ok, err := a.ImportTrustList(ctx, doc, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("parallel import: %v", err)
				}
				if ok {
					imported++
				}
			})
		}
		wg.Wait()
		for range n {
			wg.Go(func() {
				_, err := a.ActivateKey(ctx, p.Kid)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					activated++
				case permit.ErrorCode(err) != permit.ECodeConflict:
					t.Errorf("parallel activation: %v", err)
				}
			})
		}
		wg.Wait()
		if imported != 1 || activated != 1 {
			t.Errorf("%d parallel imports recorded the list %d times, activations succeeded %d times; want once each", n, imported, activated)
		}
		ev, err := a.AuditEvents(ctx, "kid:"+p.Kid)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, e := range ev {
			if e.Action == "key.activate" {
				count++
			}
		}
		if count != 1 {
			t.Errorf("%d key.activate events, want 1", count)
		}
	})
}

func base64Std(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// The root machine reads trust list requests carried from the serving
// side: a request either parses strictly or is refused, never a panic,
// and what parses keeps its type and issuer.
func FuzzParseTrustListRequest(f *testing.F) {
	f.Add([]byte(`{"type":"epermit-trust-list-request","iss":"https://epermit.test","certificates":["MAMCAQc="],"revoked":[{"kid":"k","revoked_at":1}]}`))
	f.Add([]byte(`{"type":"epermit-trust-list-request","iss":"","certificates":[],"revoked":[]}`))
	f.Add([]byte(`{"type":"x","extra":1}`))
	f.Add([]byte(`{"type":"epermit-trust-list-request","iss":"https://epermit.test","certificates":[],"revoked":[]} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := authority.ParseTrustListRequest(data)
		if err != nil {
			if permit.ErrorCode(err) != permit.ECodeInvalid {
				t.Fatalf("refusal without code invalid: %v", err)
			}
			return
		}
		if r.Type != authority.TrustListRequestType || r.Issuer == "" {
			t.Fatalf("accepted %+v", r)
		}
	})
}
