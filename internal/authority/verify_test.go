package authority_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

func TestClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{}, 1)
		a := f.a
		c, key, err := a.AddClient(ctx, permit.RoleVerifier, "China Southern check-in", "airline")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "epv_") || len(key) < 40 || !strings.HasPrefix(key, c.KeyPrefix) {
			t.Fatalf("key %q, prefix %q", key, c.KeyPrefix)
		}
		bad := []struct {
			name, role, cname, kind string
			code                    permit.Code
		}{
			{"name taken", permit.RoleVerifier, "China Southern check-in", "airline", permit.ECodeConflict},
			{"kind of another role", permit.RoleVerifier, "Bank", "bank", permit.ECodeInvalid},
			{"empty name", permit.RoleVerifier, "", "railway", permit.ECodeInvalid},
			{"padded name", permit.RoleVerifier, " x ", "railway", permit.ECodeInvalid},
			{"unknown role", "officer", "x", "airline", permit.ECodeInvalid},
		}
		for _, tc := range bad {
			if _, _, err := a.AddClient(ctx, tc.role, tc.cname, tc.kind); permit.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v; want %s", tc.name, err, tc.code)
			}
		}

		auth := func(role, k string) error { _, err := a.AuthenticateClient(ctx, role, k); return err }
		if err := auth(permit.RoleVerifier, key); err != nil {
			t.Fatalf("the new key: %v", err)
		}
		last := "A"
		if strings.HasSuffix(key, last) {
			last = "B"
		}
		for name, k := range map[string]string{"altered": key[:len(key)-1] + last, "empty": "", "other role": "epi_" + key[4:]} {
			if err := auth(permit.RoleVerifier, k); permit.ErrorCode(err) != permit.ECodeUnauthorized {
				t.Errorf("%s key: %v; want unauthorized", name, err)
			}
		}
		if err := auth(permit.RoleInstitution, key); permit.ErrorCode(err) != permit.ECodeUnauthorized {
			t.Errorf("a verifier key as an institution: %v; want unauthorized", err)
		}

		newKey, err := a.RotateClientKey(ctx, permit.RoleVerifier, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		if auth(permit.RoleVerifier, key) == nil || auth(permit.RoleVerifier, newKey) != nil {
			t.Error("after rotation the old key must fail and the new one work")
		}
		if err := a.SetClientDisabled(ctx, permit.RoleVerifier, c.Name, true); err != nil {
			t.Fatal(err)
		}
		if auth(permit.RoleVerifier, newKey) == nil {
			t.Error("a disabled verifier authenticated")
		}
		if err := a.SetClientDisabled(ctx, permit.RoleVerifier, c.Name, false); err != nil || auth(permit.RoleVerifier, newKey) != nil {
			t.Errorf("enable again: %v", err)
		}
		if _, err := a.RotateClientKey(ctx, permit.RoleVerifier, "nobody"); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("rotate for an unknown name: %v", err)
		}

		cs, err := a.Clients(ctx, permit.RoleVerifier)
		if err != nil || len(cs) != 1 || cs[0].Disabled() {
			t.Fatalf("Clients = %+v, %v", cs, err)
		}
		evs, _ := a.AuditEvents(ctx, "verifier:China Southern check-in")
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
			if strings.Contains(string(e.Details), key[10:]) || strings.Contains(string(e.Details), newKey[10:]) {
				t.Errorf("audit event %s holds the key", e.Action)
			}
		}
		want := "verifier.enable verifier.disable verifier.rotate_key verifier.add"
		if strings.Join(actions, " ") != want {
			t.Errorf("audit actions %v; want %s", actions, want)
		}
	})
}

func TestOnlineVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		a := f.a
		gate, _, err := a.AddClient(ctx, permit.RoleVerifier, "Shenzhen North gates", "railway")
		if err != nil {
			t.Fatal(err)
		}
		d := newDevice(t)
		rec := f.recs[0]
		c, err := a.IssueAtCounter(ctx, rec.TravelPermits[0].Type, rec.TravelPermits[0].Number, permit.ReasonLost, &d.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		show := func() string {
			p, err := credential.Present(c.Token, d.key, f.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			return credential.EncodeQR(p)
		}
		check := func(text string, use verify.Use, decision verify.Decision, code verify.Code) *verify.Result {
			t.Helper()
			r, err := a.VerifyPresentation(ctx, gate, text, use)
			if err != nil {
				t.Fatal(err)
			}
			if r.Decision != decision || r.Code != code {
				t.Fatalf("%s: %s %s (%v); want %s %s", use, r.Decision, r.Code, r.Warnings, decision, code)
			}
			return r
		}

		text := show()
		r := check(text, verify.UseTrain, verify.Accept, "")
		if r.Holder.DocumentNumber != rec.TravelPermits[0].Number || r.Credential.ID != hex.EncodeToString(c.ID) {
			t.Errorf("result %+v %+v", r.Holder, r.Credential)
		}
		// The entry is read from the store as of now: the list behind the
		// answer is the authority's word now, age 0.
		if r.Credential.StatusAge == nil || *r.Credential.StatusAge != 0 {
			t.Errorf("status age %v; want 0", r.Credential.StatusAge)
		}
		check(text, verify.UseTrain, verify.Reject, verify.CodeReplayed)

		// The portrait whose digest the credential carries; the lookup is audited.
		img, err := a.Portrait(ctx, gate, c.ID) // named by the client, whatever the context says
		if err != nil || string(img) != string(rec.Person.Portrait) {
			t.Fatalf("Portrait: %d bytes, %v", len(img), err)
		}
		evs, _ := a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
		if len(evs) == 0 || evs[0].Action != "portrait.lookup" || evs[0].Actor != "verifier:"+gate.Name || !strings.Contains(string(evs[0].Details), gate.Name) {
			t.Errorf("audit %+v; want a portrait.lookup by %s first", evs, gate.Name)
		}
		if _, err := a.Portrait(ctx, gate, make([]byte, 16)); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("portrait of an unknown cti: %v", err)
		}

		// A newer e-permit supersedes the first at once: no list refresh to wait for.
		f.clock.add(20 * time.Second)
		if _, err := a.IssueAtCounter(ctx, rec.TravelPermits[0].Type, rec.TravelPermits[0].Number, permit.ReasonLost, &newDevice(t).key.PublicKey); err != nil {
			t.Fatal(err)
		}
		check(show(), verify.UseFlight, verify.Reject, verify.CodeRevoked)
		if _, err := a.Portrait(ctx, gate, c.ID); permit.ErrorCode(err) != permit.ECodeNotValid {
			t.Errorf("portrait of a revoked e-permit: %v; want %s", err, permit.ECodeNotValid)
		}
	})
}

// Status list URIs use the configured short status host, and the
// authority still finds its own lists behind them.
func TestStatusURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{StatusURL: "https://s.ep.test"}, 1)
		gate, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate", "railway")
		if err != nil {
			t.Fatal(err)
		}
		d := newDevice(t)
		tp := f.recs[0].TravelPermits[0]
		c, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &d.key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		e, err := credential.ParseEPermit(c.Token)
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://s.ep.test/s/"; !strings.HasPrefix(e.Claims.Status.URI, want) {
			t.Errorf("status URI %s; want it under %s", e.Claims.Status.URI, want)
		}
		// Accepted with no status_unknown warning: the entry was found.
		p, err := credential.Present(c.Token, d.key, f.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.a.VerifyPresentation(ctx, gate, credential.EncodeQR(p), verify.UseFlight)
		if err != nil || r.Decision != verify.Accept {
			t.Errorf("VerifyPresentation = %+v, %v; want accept", r, err)
		}
	})
}

// Online verification keeps the published keys in memory; a credential
// signed by a key rotated in since (here by another instance on the same
// store, as another replica or the CLI would) is still accepted.
func TestOnlineVerificationAfterRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{}, 3)
		gate, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate", "railway")
		if err != nil {
			t.Fatal(err)
		}
		check := func(a *authority.Authority, r permit.Record) {
			t.Helper()
			d := newDevice(t)
			tp := r.TravelPermits[0]
			c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &d.key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			p, err := credential.Present(c.Token, d.key, f.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.a.VerifyPresentation(ctx, gate, credential.EncodeQR(p), verify.UseTrain)
			if err != nil || res.Decision != verify.Accept {
				t.Fatalf("VerifyPresentation = %+v, %v; want accept", res, err)
			}
		}
		check(f.a, f.recs[0])
		other, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.SetClock(f.clock.now)
		if _, err := other.RotateKey(ctx); err != nil {
			t.Fatal(err)
		}
		check(other, f.recs[1])
	})
}
