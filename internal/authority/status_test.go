package authority_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
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

// published fetches the list of c from a in the given form, checks it
// against a's trust list, and returns the token and c's entry in it.
func published(t *testing.T, a *authority.Authority, c *permit.Credential, form authority.StatusForm) (*authority.StatusToken, credential.StatusValue) {
	t.Helper()
	tok, err := a.StatusListToken(ctx, c.StatusList, form)
	if err != nil {
		t.Fatalf("StatusListToken(%d): %v", c.StatusList, err)
	}
	set, err := a.TrustList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := credential.ParseJWKSet(mustJSON(t, set))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(kid string) (*ecdsa.PublicKey, bool) { k, ok := trusted[kid]; return k, ok }
	parse := credential.ParseStatusListCWT
	if form == authority.StatusJWT {
		parse = credential.ParseStatusListJWT
	}
	p, err := parse(tok.Token, lookup)
	if err != nil {
		t.Fatalf("published %s token: %v", form, err)
	}
	if p.Subject != a.StatusListURI(c.StatusList) || !p.IssuedAt.Equal(tok.IssuedAt) || p.TTL != tok.TTL {
		t.Fatalf("token claims %+v do not match %+v", p.StatusListClaims, tok)
	}
	v, ok := p.List.Get(uint64(c.StatusIndex))
	if !ok {
		t.Fatalf("index %d beyond the list of %d", c.StatusIndex, p.List.Len())
	}
	return tok, v
}

// eligible returns the records whose first permit can get an e-permit now.
func (f *fixture) eligible() []permit.Record {
	var out []permit.Record
	for _, r := range f.recs {
		if tp := r.TravelPermits[0]; tp.Status == permit.StatusValid && !tp.Expired(f.clock.now()) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixture) counter(t *testing.T, a *authority.Authority, r permit.Record) *permit.Credential {
	t.Helper()
	tp := r.TravelPermits[0]
	c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &newDevice(t).key.PublicKey)
	if err != nil {
		t.Fatalf("issue for %s: %v", tp.Key(), err)
	}
	return c
}

// Two authorities (two replicas, or a server and the CLI) share one store:
// what one changes, the other publishes on the very next fetch.
func TestStatusListPublishing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		// The second replica: same store, same key files, its own cache.
		keyDir := t.TempDir()
		a1, err := authority.New(db, keys.Files{Dir: keyDir}, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := authority.New(db, keys.Files{Dir: keyDir}, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a1.SetClock(f.clock.now)
		a2.SetClock(f.clock.now)
		if _, err := a1.RotateKey(ctx); err != nil { // an active key in keyDir
			t.Fatal(err)
		}
		rs := f.eligible()
		c1, c2 := f.counter(t, a1, rs[0]), f.counter(t, a1, rs[1])
		if c1.StatusList != c2.StatusList {
			t.Fatalf("two e-permits in lists %d and %d", c1.StatusList, c2.StatusList)
		}

		tok, v := published(t, a1, c1, authority.StatusCWT)
		if v != credential.StatusValid {
			t.Fatalf("fresh e-permit is %s", v)
		}
		if tok.TTL != authority.DefaultStatusTTL || tok.Expiry.Sub(tok.IssuedAt) != authority.DefaultStatusValidity {
			t.Errorf("ttl %v, validity %v", tok.TTL, tok.Expiry.Sub(tok.IssuedAt))
		}
		// Unchanged: the very same token (ECDSA is randomized, so equal bytes
		// mean it was not signed again).
		again, _ := published(t, a1, c1, authority.StatusCWT)
		if !bytes.Equal(again.Token, tok.Token) || again.ETag != tok.ETag {
			t.Fatal("an unchanged list was signed again")
		}

		// A change through the other replica shows at once.
		if _, err := a2.Revoke(ctx, c1.ID, "misuse reported"); err != nil {
			t.Fatal(err)
		}
		after, v := published(t, a1, c1, authority.StatusCWT)
		if v != credential.StatusRevoked || after.Version <= tok.Version || after.ETag == tok.ETag {
			t.Fatalf("after revoking via the other replica: %s, version %d → %d", v, tok.Version, after.Version)
		}
		if _, err := a2.Suspend(ctx, c2.ID, "under investigation"); err != nil {
			t.Fatal(err)
		}
		jwt, v := published(t, a1, c2, authority.StatusJWT)
		if v != credential.StatusSuspended {
			t.Fatalf("suspended e-permit in the JWT form is %s", v)
		}
		if _, v := published(t, a1, c2, authority.StatusCWT); v != credential.StatusSuspended {
			t.Fatalf("suspended e-permit in the CWT form is %s", v)
		}
		if !strings.Contains(jwt.ETag, "jwt") || jwt.ETag == after.ETag {
			t.Errorf("JWT ETag %s vs CWT %s", jwt.ETag, after.ETag)
		}
		if _, err := a2.Reinstate(ctx, c2.ID, "cleared"); err != nil {
			t.Fatal(err)
		}
		if _, v := published(t, a1, c2, authority.StatusJWT); v != credential.StatusValid {
			t.Fatalf("reinstated e-permit is %s", v)
		}

		// An unchanged list is signed again once its token is half a ttl
		// old, so no served token's iat is older than that; until then the
		// same token is served, with a max-age that ends at that point.
		cur, _ := published(t, a1, c2, authority.StatusCWT)
		if a1.StatusResignAfter() != authority.DefaultStatusTTL/2 {
			t.Fatalf("re-signed after %v", a1.StatusResignAfter())
		}
		if cur.MaxAge <= 0 || cur.MaxAge > authority.DefaultStatusTTL/2 {
			t.Errorf("max-age %v of a fresh token", cur.MaxAge)
		}
		f.clock.add(cur.IssuedAt.Add(authority.DefaultStatusTTL/2 - time.Second).Sub(f.clock.now()))
		same, _ := published(t, a1, c2, authority.StatusCWT)
		if !bytes.Equal(same.Token, cur.Token) || same.MaxAge != time.Second {
			t.Errorf("a second before re-signing: same bytes %v, max-age %v", bytes.Equal(same.Token, cur.Token), same.MaxAge)
		}
		f.clock.add(time.Second)
		fresh, _ := published(t, a1, c2, authority.StatusCWT)
		if bytes.Equal(fresh.Token, cur.Token) || fresh.Version != cur.Version || fresh.ETag == cur.ETag ||
			!fresh.IssuedAt.Equal(f.clock.now().Truncate(time.Second)) {
			t.Errorf("half a ttl on: iat %v (was %v), version %d (was %d); want signed again now, same version",
				fresh.IssuedAt, cur.IssuedAt, fresh.Version, cur.Version)
		}
		// Over six hours, an unchanged list's served iat is never older
		// than half a ttl, and it is signed once per half ttl, not on every
		// fetch.
		signs := map[time.Time]bool{}
		for range 6 * 60 * 2 { // every 30 s
			f.clock.add(30 * time.Second)
			tok, err := a1.StatusListToken(ctx, c2.StatusList, authority.StatusCWT)
			if err != nil {
				t.Fatal(err)
			}
			if age := f.clock.now().Sub(tok.IssuedAt); age < 0 || age >= authority.DefaultStatusTTL/2 {
				t.Fatalf("served a token %v old", age)
			}
			signs[tok.IssuedAt] = true
		}
		if want := int(6 * time.Hour / (authority.DefaultStatusTTL / 2)); len(signs) < want-1 || len(signs) > want+1 {
			t.Errorf("signed %d times in six hours, want about %d", len(signs), want)
		}

		if _, err := a1.StatusListToken(ctx, c1.StatusList+100, authority.StatusCWT); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Fatalf("unknown list = %v", err)
		}
	})
}

func TestStatusConfig(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	for _, tc := range []struct {
		name     string
		ttl, val time.Duration
		ok       bool
	}{
		{"defaults", 0, 0, true},
		{"one minute, one hour", time.Minute, time.Hour, true},
		{"fractional ttl", 1500 * time.Millisecond, time.Hour, false},
		{"validity under two ttls", time.Hour, 90 * time.Minute, false},
		{"validity over the key grace", time.Minute, 25 * time.Hour, false},
	} {
		_, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{StatusTTL: tc.ttl, StatusValidity: tc.val}, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// Every cause of revocation changes the published entry, in the same
// transaction as its audit event.
func TestRevocationCauses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		rs := f.eligible()
		a := f.a
		audited := func(c *permit.Credential, action string) {
			t.Helper()
			ev, _ := a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
			if len(ev) == 0 || ev[0].Action != action {
				t.Errorf("newest audit event of %x = %+v, want %s", c.ID, ev, action)
			}
		}
		entry := func(c *permit.Credential) credential.StatusValue {
			t.Helper()
			_, v := published(t, a, c, authority.StatusCWT)
			return v
		}

		t.Run("holder cancel", func(t *testing.T) {
			token := f.prove(t, rs[0])
			c, err := f.apply(t, token, newDevice(t), permit.ReasonLost, "")
			if err != nil {
				t.Fatal(err)
			}
			if entry(c) != credential.StatusValid {
				t.Fatal("not valid when issued")
			}
			if err := a.CancelMine(ctx, token, c.ID); err != nil {
				t.Fatal(err)
			}
			if v := entry(c); v != credential.StatusRevoked {
				t.Fatalf("cancelled e-permit is %s", v)
			}
			audited(c, "credential.cancel")
		})

		t.Run("supersession", func(t *testing.T) {
			old := f.counter(t, a, rs[1])
			newer := f.counter(t, a, rs[1])
			if entry(old) != credential.StatusRevoked || entry(newer) != credential.StatusValid {
				t.Fatalf("after supersession: old %s, new %s", entry(old), entry(newer))
			}
			audited(old, "credential.supersede")
		})

		t.Run("officer revoke, suspend, reinstate", func(t *testing.T) {
			c := f.counter(t, a, rs[2])
			for _, step := range []struct {
				name   string
				do     func() (*permit.Credential, error)
				code   permit.Code
				want   credential.StatusValue
				action string
			}{
				{"revoke without reason", func() (*permit.Credential, error) { return a.Revoke(ctx, c.ID, "  ") }, permit.ECodeInvalid, 0, ""},
				{"reinstate an active one", func() (*permit.Credential, error) { return a.Reinstate(ctx, c.ID, "x") }, permit.ECodeConflict, 0, ""},
				{"suspend", func() (*permit.Credential, error) { return a.Suspend(ctx, c.ID, "inquiry") }, "", 2, "credential.suspend"},
				{"suspend again", func() (*permit.Credential, error) { return a.Suspend(ctx, c.ID, "inquiry") }, permit.ECodeConflict, 2, ""},
				{"reinstate", func() (*permit.Credential, error) { return a.Reinstate(ctx, c.ID, "cleared") }, "", 0, "credential.reinstate"},
				{"suspend once more", func() (*permit.Credential, error) { return a.Suspend(ctx, c.ID, "new inquiry") }, "", 2, "credential.suspend"},
				{"revoke a suspended one", func() (*permit.Credential, error) { return a.Revoke(ctx, c.ID, "fraud confirmed") }, "", 1, "credential.revoke"},
				{"revoke again", func() (*permit.Credential, error) { return a.Revoke(ctx, c.ID, "fraud confirmed") }, permit.ECodeConflict, 1, ""},
				{"reinstate a revoked one", func() (*permit.Credential, error) { return a.Reinstate(ctx, c.ID, "mistake") }, permit.ECodeConflict, 1, ""},
				{"unknown e-permit", func() (*permit.Credential, error) { return a.Revoke(ctx, make([]byte, 16), "x") }, permit.ECodeNotFound, 1, ""},
			} {
				got, err := step.do()
				if step.code == "" && err != nil || step.code != "" && permit.ErrorCode(err) != step.code {
					t.Fatalf("%s: %v, want code %q", step.name, err, step.code)
				}
				if v := entry(c); v != step.want {
					t.Fatalf("%s: entry %s, want %s", step.name, v, step.want)
				}
				if step.action != "" {
					audited(c, step.action)
					if got == nil || got.StateReason == "" {
						t.Errorf("%s: returned %+v", step.name, got)
					}
				}
			}
		})

		t.Run("revoke by document", func(t *testing.T) {
			tp := rs[3].TravelPermits[0]
			c := f.counter(t, a, rs[3])
			if _, err := a.Suspend(ctx, c.ID, "inquiry"); err != nil {
				t.Fatal(err)
			}
			got, err := a.RevokeDocument(ctx, tp.Type, tp.Number, "card misused")
			if err != nil || len(got) != 1 || !bytes.Equal(got[0].ID, c.ID) {
				t.Fatalf("RevokeDocument = %+v, %v", got, err)
			}
			if entry(c) != credential.StatusRevoked {
				t.Fatal("not revoked")
			}
			audited(c, "credential.revoke")
			if _, err := a.RevokeDocument(ctx, tp.Type, tp.Number, "again"); permit.ErrorCode(err) != permit.ECodeNotFound {
				t.Fatalf("nothing left to revoke = %v", err)
			}
			if _, err := a.RevokeDocument(ctx, permit.HKHomeReturnPermit, "H99999999", "x"); permit.ErrorCode(err) != permit.ECodeNotFound {
				t.Fatalf("unknown permit = %v", err)
			}
		})

		t.Run("registry changes", func(t *testing.T) {
			for i, tc := range []struct {
				name   string
				change func(r *permit.Record)
				want   credential.StatusValue
			}{
				{"phone number changed", func(r *permit.Record) { r.Person.Phone = "+85290000001" }, credential.StatusValid},
				{"reported lost", func(r *permit.Record) { r.TravelPermits[0].Status = permit.StatusReportedLost }, credential.StatusRevoked},
				{"cancelled", func(r *permit.Record) { r.TravelPermits[0].Status = permit.StatusCancelled }, credential.StatusRevoked},
				{"card reissued", func(r *permit.Record) { r.TravelPermits[0].Renewal++ }, credential.StatusRevoked},
			} {
				r := rs[4+i]
				c := f.counter(t, a, r)
				changed := r
				changed.TravelPermits = append([]permit.TravelPermit(nil), r.TravelPermits...)
				tc.change(&changed)
				if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{changed})), "test"); err != nil {
					t.Fatalf("%s: import: %v", tc.name, err)
				}
				if v := entry(c); v != tc.want {
					t.Errorf("%s: entry %s, want %s", tc.name, v, tc.want)
				}
				if tc.want == credential.StatusRevoked {
					audited(c, "credential.revoke")
				}
				if tc.name == "reported lost" {
					// Found again: the registry says valid, the e-permit stays revoked.
					if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{r})), "test"); err != nil {
						t.Fatal(err)
					}
					if v := entry(c); v != credential.StatusRevoked {
						t.Errorf("found again: entry %s, want revoked", v)
					}
				}
			}
		})

		t.Run("card found", func(t *testing.T) {
			// An e-permit issued while the card was reported lost ends when
			// the holder has the card back.
			r := rs[10]
			lost := r
			lost.TravelPermits = append([]permit.TravelPermit(nil), r.TravelPermits...)
			lost.TravelPermits[0].Status = permit.StatusReportedLost
			if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{lost})), "test"); err != nil {
				t.Fatal(err)
			}
			c := f.counter(t, a, lost)
			if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{r})), "test"); err != nil {
				t.Fatal(err)
			}
			if v := entry(c); v != credential.StatusRevoked {
				t.Errorf("card found: entry %s, want revoked", v)
			}
			audited(c, "credential.revoke")
		})

		t.Run("registry changes end linkage proofs", func(t *testing.T) {
			for i, tc := range []struct {
				name   string
				change func(r *permit.Record)
				want   credential.StatusValue
			}{
				{"phone number changed", func(r *permit.Record) { r.Person.Phone = "+85290000002" }, credential.StatusValid},
				{"travel permit reported lost", func(r *permit.Record) { r.TravelPermits[0].Status = permit.StatusReportedLost }, credential.StatusRevoked},
				{"residence permit cancelled", func(r *permit.Record) { r.ResidencePermit.Status = permit.StatusCancelled }, credential.StatusRevoked},
			} {
				var r permit.Record
				for _, e := range rs[11+3*i:] { // one with a residence permit
					if e.ResidencePermit != nil && e.ResidencePermit.Status == permit.StatusValid {
						r = e
						break
					}
				}
				tp := r.TravelPermits[0]
				c, err := a.IssueLinkageAtCounter(ctx, tp.Type, tp.Number, &newDevice(t).key.PublicKey)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				changed := r
				changed.TravelPermits = append([]permit.TravelPermit(nil), r.TravelPermits...)
				rp := *r.ResidencePermit
				changed.ResidencePermit = &rp
				tc.change(&changed)
				if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, []permit.Record{changed})), "test"); err != nil {
					t.Fatalf("%s: import: %v", tc.name, err)
				}
				if v := entry(c); v != tc.want {
					t.Errorf("%s: linkage proof entry %s, want %s", tc.name, v, tc.want)
				}
			}
		})

		t.Run("expired e-permits need no change", func(t *testing.T) {
			c := f.counter(t, a, rs[9])
			tok, _ := published(t, a, c, authority.StatusCWT)
			f.clock.add(8 * 24 * time.Hour)
			for name, do := range map[string]func() (*permit.Credential, error){
				"revoke":  func() (*permit.Credential, error) { return a.Revoke(ctx, c.ID, "late") },
				"suspend": func() (*permit.Credential, error) { return a.Suspend(ctx, c.ID, "late") },
			} {
				if _, err := do(); permit.ErrorCode(err) != permit.ECodeConflict {
					t.Errorf("%s an expired e-permit = %v", name, err)
				}
			}
			if v, _ := db.StatusListVersion(ctx, c.StatusList); v != tok.Version {
				t.Errorf("list version moved from %d to %d", tok.Version, v)
			}
		})
		if _, err := a.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Parallel issuance for many people never hands out one status entry twice,
// also when small lists fill up and new ones start under contention.
func TestParallelIssuanceStatusIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{StatusListSize: 16}, 120)
		rs := f.eligible()
		if len(rs) < 40 {
			t.Fatalf("only %d eligible people", len(rs))
		}
		rs = rs[:40]
		var wg sync.WaitGroup
		got := make([]*permit.Credential, len(rs))
		errs := make([]error, len(rs))
		for i, r := range rs {
			wg.Go(func() {
				tp := r.TravelPermits[0]
				got[i], errs[i] = f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &newDevice(t).key.PublicKey)
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		lists := map[int64]int{}
		for i, c := range got {
			if errs[i] != nil {
				t.Fatalf("issue %d: %v", i, errs[i])
			}
			k := fmt.Sprintf("%d/%d", c.StatusList, c.StatusIndex)
			if seen[k] {
				t.Fatalf("status entry %s handed out twice", k)
			}
			seen[k] = true
			lists[c.StatusList]++
			if c.StatusIndex < 0 || c.StatusIndex >= 16 {
				t.Fatalf("index %d outside a list of 16", c.StatusIndex)
			}
		}
		for l, n := range lists {
			if n > 14 { // 90% of 16
				t.Errorf("list %d got %d entries", l, n)
			}
		}
		if len(lists) < 3 {
			t.Errorf("40 entries in lists of 14 used %d lists", len(lists))
		}
	})
}
