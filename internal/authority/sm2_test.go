package authority_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// An authority that rotates to an SM2 key signs everything after with SM2
// (spec §1.1): e-permits pass the online verification the gate page uses,
// status lists verify in both forms, linkage proofs pass an institution's
// check; the trust list holds both suites; rotation keeps SM2.
func TestSM2Suite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{}, 3)
		old, err := f.a.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k, err := f.a.RotateKeyWith(ctx, keys.SM2)
		if err != nil {
			t.Fatal(err)
		}
		set, err := f.a.TrustList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		crvs := map[string]string{}
		for _, j := range set.Keys {
			crvs[j.Kid] = j.Crv + "/" + j.Alg
		}
		if len(crvs) != 2 || crvs[k.Kid] != "SM2/SM2" || crvs[old[0].Kid] != "P-256/ES256" {
			t.Fatalf("trust list %v: want the SM2 key and the retired P-256 key", crvs)
		}

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
		if c.KeyID != k.Kid {
			t.Fatalf("signed by %s, want the SM2 key %s", c.KeyID, k.Kid)
		}
		e, err := credential.ParseEPermit(c.Token)
		if err != nil || e.Alg != credential.AlgSM2 {
			t.Fatalf("e-permit alg %d, %v; want -70100", e.Alg, err)
		}
		p, err := credential.Present(c.Token, d.key, f.clock.now())
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.a.VerifyPresentation(ctx, gate, credential.EncodeQR(p), verify.UseTrain)
		if err != nil || res.Decision != verify.Accept {
			t.Fatalf("VerifyPresentation = %+v, %v; want accept", res, err)
		}
		// The offline verifier with the published trust list agrees.
		v := verify.New(f.trust(t), dbStatus{db}, verify.Policy{Use: verify.UseTrain})
		if r := v.Verify(ctx, credential.EncodeQR(p), f.clock.now().Add(time.Second)); r.Decision != verify.Accept {
			t.Fatalf("offline verification: %s %s", r.Decision, r.Code)
		}

		for _, form := range []authority.StatusForm{authority.StatusCWT, authority.StatusJWT} {
			tok, v := published(t, f.a, c, form)
			if v != credential.StatusValid {
				t.Errorf("%s: status %v", form, v)
			}
			if form == authority.StatusJWT && !strings.HasPrefix(string(tok.Token), "eyJhbGciOiJTTTIi") { // {"alg":"SM2"
				t.Errorf("JWT status list header: %.30s", tok.Token)
			}
		}

		token := f.prove(t, f.recs[1])
		lc, err := f.linkage(t, token, d)
		if err != nil {
			t.Fatal(err)
		}
		now := f.clock.now().Truncate(time.Second)
		pres, err := credential.PresentLinkage(string(lc.Token), []string{credential.ClaimTravelPermitNumber}, d.key, "bank-1", "n0nce", now)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := credential.ParseSDJWT(pres); err != nil || s.Alg != credential.JOSESM2 {
			t.Fatalf("linkage proof alg %q, %v", s.Alg, err)
		}
		pol := verify.LinkagePolicy{Audience: "bank-1", Nonce: "n0nce"}
		if r := verify.VerifyLinkage(ctx, f.trust(t), dbStatus{db}, pres, pol, now.Add(time.Minute)); r.Decision != verify.Accept {
			t.Fatalf("linkage verification: %s %s", r.Decision, r.Code)
		}

		// A plain rotation keeps the active key's algorithm; an explicit
		// one switches back.
		k2, err := f.a.RotateKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k3, err := f.a.RotateKeyWith(ctx, keys.ES256)
		if err != nil {
			t.Fatal(err)
		}
		for kk, want := range map[*permit.IssuerKey]string{k2: "SM2", k3: "ES256"} {
			pub, err := credential.ParsePublicKey(kk.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if alg, _ := credential.KeyAlgorithm(pub); alg != want {
				t.Errorf("key %s is %s, want %s", kk.Kid, alg, want)
			}
		}
		es, _ := f.a.AuditEvents(ctx, "kid:"+k.Kid)
		if len(es) != 1 || !strings.Contains(string(es[0].Details), `"algorithm":"sm2"`) {
			t.Errorf("audit of the SM2 key: %v", es)
		}
	})
}

// After a rotation to SM2, OpenID4VP's verifier attestation and request
// object are SM2-signed (alg SM2) and verify under the trust list and the
// attested key; the request accepts linkage proofs of both suites, the
// active one first.
func TestSM2RequestObject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{}, 3)
		if _, err := f.a.RotateKeyWith(ctx, keys.SM2); err != nil {
			t.Fatal(err)
		}
		bank, _, err := f.a.AddClient(ctx, permit.RoleInstitution, "bank-1", "bank")
		if err != nil {
			t.Fatal(err)
		}
		pr, err := f.a.CreatePresentation(ctx, bank, dcql(credential.ClaimTravelPermitNumber), "account opening")
		if err != nil {
			t.Fatal(err)
		}
		c := walletRequest(t, f, pr) // verifies both signatures in the key's suite
		b, _ := json.Marshal(c["client_metadata"])
		if want := `{"dc+sd-jwt":{"kb-jwt_alg_values":["ES256"],"sd-jwt_alg_values":["SM2","ES256"]}}`; !strings.Contains(string(b), want) {
			t.Errorf("client_metadata %s, want %s", b, want)
		}
		algs, err := f.a.SigningAlgorithms(ctx)
		if err != nil || strings.Join(algs, ",") != "SM2,ES256" {
			t.Errorf("SigningAlgorithms = %v, %v; want SM2 (active), ES256", algs, err)
		}
	})
}
