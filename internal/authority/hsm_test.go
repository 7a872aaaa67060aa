//go:build pkcs11

package authority_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/keys"
	_ "github.com/epermit/epermit/internal/keys/pkcs11"
	"github.com/epermit/epermit/internal/keys/pkcs11/softhsm"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// newKeyFixture is newFixtureN with the issuer keys in ks.
func newKeyFixture(t testing.TB, db *store.DB, cfg authority.Config, people int, ks authority.KeyStore) *fixture {
	t.Helper()
	f := &fixture{phone: &phone{}, clock: &clock{t: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}, recs: demo.Registry(people)}
	cfg.Notifier = f.phone
	cfg.PublicURL = "https://epermit.test"
	cfg.FaceMode, cfg.Demo = authority.FaceDemo, true
	a, err := authority.New(db, ks, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(f.clock.now)
	f.a = a
	if _, err := a.InitKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, f.recs)), "test"); err != nil {
		t.Fatal(err)
	}
	return f
}

// hsmStore returns a key store that makes keys in a fresh SoftHSM2 token.
func hsmStore(t testing.TB) *keys.Store {
	tok := softhsm.New(t, "epermit")
	ks := &keys.Store{Dir: t.TempDir(), KMS: tok.URI()}
	t.Cleanup(func() { ks.Close() })
	return ks
}

// Issuer keys in a SoftHSM2 token: the authority issues e-permits and
// linkage proofs and signs status lists with them, a gate verifies with the
// published trust list, and rotation and revocation work as with files.
func TestIssuerKeyInSoftHSM2(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ks := hsmStore(t)
		f := newKeyFixture(t, db, authority.Config{}, 3, ks)
		ks1, _ := f.a.Keys(ctx)
		first := ks1[0]
		if !strings.HasPrefix(first.Ref, "pkcs11:token=epermit;") || strings.Contains(first.Ref, "pin-value") {
			t.Fatalf("reference %q: want the token's, without a PIN", first.Ref)
		}
		if _, err := os.Stat(filepath.Join(ks.Dir, "keys")); !os.IsNotExist(err) {
			t.Fatalf("a key directory appeared beside the token: %v", err)
		}
		gate, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate", "railway")
		if err != nil {
			t.Fatal(err)
		}

		// issue makes an e-permit for record i and checks it as a gate does:
		// offline with the trust list, and online.
		issue := func(a *authority.Authority, i int, kid string) (*permit.Credential, string) {
			t.Helper()
			d := newDevice(t)
			tp := f.recs[i].TravelPermits[0]
			c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &d.key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if c.KeyID != kid {
				t.Fatalf("signed by %s, want %s", c.KeyID, kid)
			}
			p, err := credential.Present(c.Token, d.key, f.clock.now())
			if err != nil {
				t.Fatal(err)
			}
			qr := credential.EncodeQR(p)
			v := verify.New(f.trust(t), dbStatus{db}, verify.Policy{Use: verify.UseTrain})
			if r := v.Verify(ctx, qr, f.clock.now().Add(time.Second)); r.Decision != verify.Accept {
				t.Fatalf("offline verification: %s %s", r.Decision, r.Code)
			}
			if r, err := a.VerifyPresentation(ctx, gate, qr, verify.UseTrain); err != nil || r.Decision != verify.Accept {
				t.Fatalf("online verification: %+v, %v", r, err)
			}
			return c, qr
		}
		c1, qr1 := issue(f.a, 0, first.Kid)
		for _, form := range []authority.StatusForm{authority.StatusCWT, authority.StatusJWT} {
			if _, v := published(t, f.a, c1, form); v != credential.StatusValid {
				t.Errorf("%s status list: %v", form, v)
			}
		}
		d := newDevice(t)
		lc, err := f.linkage(t, f.prove(t, f.recs[1]), d)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now().Truncate(time.Second)
		pres, err := credential.PresentLinkage(string(lc.Token), []string{credential.ClaimTravelPermitNumber}, d.key, "bank-1", "n0nce", now)
		if err != nil {
			t.Fatal(err)
		}
		if r := verify.VerifyLinkage(ctx, f.trust(t), dbStatus{db}, pres, verify.LinkagePolicy{Audience: "bank-1", Nonce: "n0nce"}, now.Add(time.Minute)); r.Decision != verify.Accept {
			t.Fatalf("linkage verification: %s %s", r.Decision, r.Code)
		}

		// PKCS#11 keys are ES256 only.
		if _, err := f.a.RotateKeyWith(ctx, keys.SM2); err == nil || !strings.Contains(err.Error(), "ES256 only") {
			t.Fatalf("rotation to SM2 in the token = %v, want refused", err)
		}
		// Rotation makes the next key in the token too; a second replica,
		// with its own key store, opens it by its reference.
		f.clock.add(time.Hour)
		second, err := f.a.RotateKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(second.Ref, "pkcs11:token=epermit;") || second.Ref == first.Ref {
			t.Fatalf("rotated key reference %q", second.Ref)
		}
		replicaKeys := &keys.Store{Dir: t.TempDir()}
		defer replicaKeys.Close()
		replica, err := authority.New(db, replicaKeys, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		replica.SetClock(f.clock.now)
		issue(replica, 2, second.Kid)
		if set, _ := f.a.TrustList(ctx); len(set.Keys) != 2 {
			t.Fatalf("trust list after rotation has %d keys, want both", len(set.Keys))
		}

		// The first key leaks: revoking it revokes what it signed and takes
		// it out of the trust list, so a gate refuses its e-permits.
		revoked, err := f.a.RevokeKey(ctx, first.Kid, "test")
		if err != nil || len(revoked) != 2 {
			t.Fatalf("RevokeKey = %d credentials, %v; want the e-permit and the linkage proof", len(revoked), err)
		}
		v := verify.New(f.trust(t), dbStatus{db}, verify.Policy{Use: verify.UseTrain})
		if r := v.Verify(ctx, qr1, f.clock.now().Add(2*time.Second)); r.Decision != verify.Reject || r.Code != verify.CodeUnknownKey {
			t.Fatalf("e-permit of the revoked key: %s %s, want reject unknown_key", r.Decision, r.Code)
		}
		if n, err := f.a.VerifyAudit(ctx); err != nil || n == 0 {
			t.Fatalf("audit: %d, %v", n, err)
		}
	})
}
