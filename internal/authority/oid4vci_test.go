package authority_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// validRecord returns the i-th record whose first travel permit is valid
// now and who has a residence permit.
func (f *fixture) validRecord(t testing.TB, i int) permit.Record {
	t.Helper()
	for _, r := range f.recs {
		tp := r.TravelPermits[0]
		if tp.Status != permit.StatusValid || tp.Expired(f.clock.now()) || r.ResidencePermit == nil ||
			r.ResidencePermit.Status != permit.StatusValid || r.ResidencePermit.Expired(f.clock.now()) {
			continue
		}
		if i == 0 {
			return r
		}
		i--
	}
	t.Fatal("not enough valid records")
	return permit.Record{}
}

func counterOffer(t testing.TB, f *fixture, r permit.Record, kind permit.Kind) (*authority.Offer, string) {
	t.Helper()
	tp := r.TravelPermits[0]
	o, err := f.a.OfferAtCounter(ctx, authority.OfferRequest{Kind: kind, DocumentType: tp.Type, DocumentNumber: tp.Number,
		Reason: permit.ReasonLost})
	if err != nil {
		t.Fatal(err)
	}
	return o, f.phone.code(t, r.Person.Phone)
}

// redeem runs the wallet's side after the offer: token, nonce, proof,
// credential.
func (f *fixture) redeem(t testing.TB, o *authority.Offer, txCode string, d device) (*permit.Credential, error) {
	t.Helper()
	at, err := f.a.RedeemOffer(ctx, o.Code, txCode)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	nonce, err := f.a.CNonce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := credential.MakeProofJWT(d.key, f.a.IssuerIdentifier(), nonce, f.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return f.a.IssueToWallet(ctx, authority.CredentialRequest{AccessToken: at.Token, ConfigurationID: at.ConfigurationID, Proof: proof})
}

func TestOID4VCIIssuance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		d := newDevice(t)
		der, _ := x509.MarshalPKIXPublicKey(&d.key.PublicKey)

		// At the counter: an e-permit, bound to the wallet's key.
		o, tx := counterOffer(t, f, r, permit.TemporaryEPermit)
		if o.ConfigurationID != authority.ConfigEPermit || o.Issuer != "https://epermit.test" {
			t.Fatalf("offer = %+v", o)
		}
		c, err := f.redeem(t, o, tx, d)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != permit.TemporaryEPermit || !bytes.Equal(c.HolderKey, der) {
			t.Fatalf("credential = %+v", c)
		}
		if _, err := credential.ParseEPermit(c.Token); err != nil {
			t.Fatal(err)
		}
		ev, _ := f.a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
		if len(ev) != 1 || ev[0].Action != "credential.issue" || !bytes.Contains(ev[0].Details, []byte(`"channel":"counter"`)) {
			t.Fatalf("audit = %+v", ev)
		}

		// Online, after proofing: a linkage proof for another wallet.
		token := f.prove(t, r)
		o, err = f.a.OfferMine(ctx, token, permit.LinkageProofKind, 0, "en")
		if err != nil {
			t.Fatal(err)
		}
		c, err = f.redeem(t, o, f.phone.code(t, r.Person.Phone), d)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != permit.LinkageProofKind || !bytes.Equal(c.HolderKey, der) {
			t.Fatalf("credential = %+v", c)
		}
		sd, err := credential.ParseSDJWT(string(c.Token))
		if err != nil || sd.VCT != credential.LinkageVCT {
			t.Fatalf("sd-jwt: %+v %v", sd, err)
		}

		// The quota is today's: a third e-permit this month is refused.
		for i, want := range []permit.Code{"", permit.ECodeQuotaExceeded} {
			o, tx := counterOffer(t, f, r, permit.TemporaryEPermit)
			_, err := f.redeem(t, o, tx, d)
			if (want == "") != (err == nil) || (err != nil && permit.ErrorCode(err) != want) {
				t.Fatalf("e-permit %d: %v, want %q", i+2, err, want)
			}
		}
	})
}

// The abuse cases of the pre-authorized code flow, each refused with the
// error OpenID4VCI defines.
func TestOID4VCIAbuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		d := newDevice(t)
		iss := f.a.IssuerIdentifier()
		proof := func(aud, nonce string, at time.Time) string {
			p, err := credential.MakeProofJWT(d.key, aud, nonce, at)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		want := func(name string, err error, code permit.Code) {
			t.Helper()
			if permit.ErrorCode(err) != code {
				t.Errorf("%s: %v, want %s", name, err, code)
			}
		}

		// A pre-authorized code is redeemed once.
		o, tx := counterOffer(t, f, r, permit.LinkageProofKind)
		at, err := f.a.RedeemOffer(ctx, o.Code, tx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.a.RedeemOffer(ctx, o.Code, tx)
		want("reused pre-authorized code", err, permit.ECodeInvalidGrant)
		_, err = f.a.RedeemOffer(ctx, "no-such-code", tx)
		want("unknown code", err, permit.ECodeInvalidGrant)

		// Key proofs: another aud, a stale iat, no nonce, an unknown nonce.
		n, _ := f.a.CNonce(ctx)
		req := func(p string) authority.CredentialRequest {
			return authority.CredentialRequest{AccessToken: at.Token, ConfigurationID: at.ConfigurationID, Proof: p}
		}
		_, err = f.a.IssueToWallet(ctx, req(proof("https://other.example", n, f.clock.now())))
		want("proof for another aud", err, permit.ECodeInvalidProof)
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, n, f.clock.now().Add(-time.Hour))))
		want("proof made an hour ago", err, permit.ECodeInvalidProof)
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, "", f.clock.now())))
		want("no nonce", err, permit.ECodeInvalidNonce)
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, "made-up", f.clock.now())))
		want("unknown nonce", err, permit.ECodeInvalidNonce)
		_, err = f.a.IssueToWallet(ctx, req(""))
		want("no proof", err, permit.ECodeInvalidProof)
		_, err = f.a.IssueToWallet(ctx, authority.CredentialRequest{AccessToken: at.Token, ConfigurationID: authority.ConfigEPermit,
			Proof: proof(iss, n, f.clock.now())})
		want("another configuration", err, permit.ECodeUnknownConfiguration)
		// The failures above consumed nothing: the nonce still works, once.
		if _, err := f.a.IssueToWallet(ctx, req(proof(iss, n, f.clock.now()))); err != nil {
			t.Fatal(err)
		}
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, n, f.clock.now())))
		want("spent access token", err, permit.ECodeInvalidToken)
		o, tx = counterOffer(t, f, r, permit.LinkageProofKind)
		at, _ = f.a.RedeemOffer(ctx, o.Code, tx)
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, n, f.clock.now())))
		want("reused c_nonce", err, permit.ECodeInvalidNonce)

		// A stale c_nonce.
		n, _ = f.a.CNonce(ctx)
		f.clock.add(authority.CNonceTTL + time.Second)
		o, tx = counterOffer(t, f, r, permit.LinkageProofKind)
		stale, _ := f.a.RedeemOffer(ctx, o.Code, tx)
		_, err = f.a.IssueToWallet(ctx, authority.CredentialRequest{AccessToken: stale.Token, ConfigurationID: stale.ConfigurationID,
			Proof: proof(iss, n, f.clock.now())})
		want("stale c_nonce", err, permit.ECodeInvalidNonce)
		// … and an expired access token.
		f.clock.add(authority.AccessTokenTTL)
		n, _ = f.a.CNonce(ctx)
		_, err = f.a.IssueToWallet(ctx, req(proof(iss, n, f.clock.now())))
		want("expired access token", err, permit.ECodeInvalidToken)

		// Five wrong transaction codes void the offer: the right one then
		// fails too.
		o, tx = counterOffer(t, f, r, permit.LinkageProofKind)
		wrong := "000000"
		if wrong == tx {
			wrong = "000001"
		}
		for i := range authority.TxCodeMaxTries {
			_, err := f.a.RedeemOffer(ctx, o.Code, wrong)
			want("wrong tx_code "+string(rune('1'+i)), err, permit.ECodeInvalidGrant)
		}
		_, err = f.a.RedeemOffer(ctx, o.Code, tx)
		want("right tx_code after five wrong", err, permit.ECodeInvalidGrant)
		if _, err := f.a.OfferByCode(ctx, o.Code); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Errorf("a void offer is still served: %v", err)
		}
		ev, _ := f.a.AuditEvents(ctx, "")
		void := 0
		for _, e := range ev {
			if e.Action == "oid4vci.offer_void" {
				void++
			}
		}
		if void != 1 {
			t.Errorf("%d oid4vci.offer_void events, want 1", void)
		}

		// An expired offer.
		o, tx = counterOffer(t, f, r, permit.LinkageProofKind)
		f.clock.add(authority.OfferTTL)
		_, err = f.a.RedeemOffer(ctx, o.Code, tx)
		want("expired offer", err, permit.ECodeInvalidGrant)
	})
}

// One c_nonce, many credential requests at once (each with its own
// access token): exactly one is issued; one pre-authorized code redeemed
// many times at once: exactly one access token; wrong transaction codes at
// once: no more than TxCodeMaxTries are checked.
func TestOID4VCIUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		const n = 12
		tokens := make([]*authority.AccessToken, n)
		for i := range n {
			o, tx := counterOffer(t, f, f.validRecord(t, i), permit.LinkageProofKind)
			at, err := f.a.RedeemOffer(ctx, o.Code, tx)
			if err != nil {
				t.Fatal(err)
			}
			tokens[i] = at
		}
		nonce, _ := f.a.CNonce(ctx)
		d := newDevice(t)
		proof, _ := credential.MakeProofJWT(d.key, f.a.IssuerIdentifier(), nonce, f.clock.now())
		var mu sync.Mutex
		codes := map[permit.Code]int{}
		var wg sync.WaitGroup
		for _, at := range tokens {
			wg.Go(func() {
				_, err := f.a.IssueToWallet(ctx, authority.CredentialRequest{AccessToken: at.Token, ConfigurationID: at.ConfigurationID, Proof: proof})
				mu.Lock()
				if err == nil {
					codes["issued"]++
				} else {
					codes[permit.ErrorCode(err)]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes["issued"] != 1 || codes[permit.ECodeInvalidNonce] != n-1 {
			t.Errorf("one c_nonce in %d parallel requests: %v; want 1 issued, %d invalid_nonce", n, codes, n-1)
		}

		r := f.validRecord(t, 0)
		o, tx := counterOffer(t, f, r, permit.LinkageProofKind)
		got := 0
		for range 32 {
			wg.Go(func() {
				if _, err := f.a.RedeemOffer(ctx, o.Code, tx); err == nil {
					mu.Lock()
					got++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if got != 1 {
			t.Errorf("one code redeemed %d times at once", got)
		}

		o, tx = counterOffer(t, f, r, permit.LinkageProofKind)
		for range 64 {
			wg.Go(func() {
				wrong := "000000"
				if wrong == tx {
					wrong = "000001"
				}
				f.a.RedeemOffer(ctx, o.Code, wrong)
			})
		}
		wg.Wait()
		ev, _ := f.a.AuditEvents(ctx, "")
		checked := 0
		for _, e := range ev {
			if e.Action == "oid4vci.tx_code_wrong" || e.Action == "oid4vci.offer_void" {
				checked++
			}
		}
		if checked != authority.TxCodeMaxTries {
			t.Errorf("%d wrong transaction codes were checked, want %d", checked, authority.TxCodeMaxTries)
		}
		if _, err := f.a.RedeemOffer(ctx, o.Code, tx); permit.ErrorCode(err) != permit.ECodeInvalidGrant {
			t.Errorf("the right code after the storm: %v", err)
		}
	})
}

// Without an SMS gateway (serve without --sms-url) every offer is refused
// as not_ready before anything is written: no offer, no audit event.
func TestOfferWithoutNotifier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		token := f.prove(t, r)
		a, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.SetClock(f.clock.now)
		before, _ := a.AuditEvents(ctx, "")
		tp := r.TravelPermits[0]
		_, err = a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.TemporaryEPermit, DocumentType: tp.Type,
			DocumentNumber: tp.Number, Reason: permit.ReasonLost})
		if permit.ErrorCode(err) != permit.ECodeNotReady {
			t.Errorf("counter offer without a notifier: %v, want not_ready", err)
		}
		_, err = a.OfferMine(ctx, token, permit.LinkageProofKind, 0, "en")
		if permit.ErrorCode(err) != permit.ECodeNotReady {
			t.Errorf("online offer without a notifier: %v, want not_ready", err)
		}
		after, _ := a.AuditEvents(ctx, "")
		if len(after) != len(before) {
			t.Errorf("refused offers wrote %d audit events", len(after)-len(before))
		}
		if n := offerRows(t, db); n != 0 {
			t.Errorf("refused offers left %d offers", n)
		}
	})
}

// offerRows counts the credential offers in the store.
func offerRows(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := storetest.SQL(t, db).QueryRow(`SELECT COUNT(*) FROM vci_offers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// failingPhone is a Notifier whose gateway is down.
type failingPhone struct{}

func (failingPhone) Notify(context.Context, string, string) error {
	return errors.New("sms gateway: 502 bad gateway")
}

// A transaction code that cannot be sent leaves no live offer: the offer
// is voided (and audited) and the holder gets not_ready.
func TestOfferSMSFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		token := f.prove(t, r)
		a, err := authority.New(db, f.keyStore, authority.Config{PublicURL: "https://epermit.test", Notifier: failingPhone{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.SetClock(f.clock.now)
		tp := r.TravelPermits[0]
		_, err = a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.TemporaryEPermit, DocumentType: tp.Type,
			DocumentNumber: tp.Number, Reason: permit.ReasonLost})
		if permit.ErrorCode(err) != permit.ECodeNotReady {
			t.Errorf("counter offer, gateway down: %v, want not_ready", err)
		}
		_, err = a.OfferMine(ctx, token, permit.LinkageProofKind, 0, "en")
		if permit.ErrorCode(err) != permit.ECodeNotReady {
			t.Errorf("online offer, gateway down: %v, want not_ready", err)
		}
		rows, err := storetest.SQL(t, db).Query(`SELECT state FROM vci_offers`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var state string
			if err := rows.Scan(&state); err != nil {
				t.Fatal(err)
			}
			if state != store.OfferVoid {
				t.Errorf("an offer whose code was not sent is %q, want void", state)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d offers recorded, want 2 (void)", n)
		}
		ev, _ := a.AuditEvents(ctx, "")
		void := 0
		for _, e := range ev {
			if e.Action == "oid4vci.offer_void" && bytes.Contains(e.Details, []byte(`"sms_failed"`)) {
				void++
			}
		}
		if void != 2 {
			t.Errorf("%d oid4vci.offer_void events for sms_failed, want 2", void)
		}
	})
}

// The transaction code's message is in the holder's language and gives
// the offer's lifetime.
func TestOfferMessageLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		token := f.prove(t, r)
		mins := strconv.Itoa(int(authority.OfferTTL.Minutes()))
		tp := r.TravelPermits[0]
		for _, c := range []struct {
			lang, want string
			counter    bool
		}{
			{"en", "expires in " + mins + " minutes", false},
			{"zh-Hans", mins + " 分钟内有效", false},
			{"zh-Hant", mins + " 分鐘內有效", false},
			{"", mins + " 分鐘內有效", true},
			{"en", "expires in " + mins + " minutes", true},
		} {
			var err error
			if c.counter {
				_, err = f.a.OfferAtCounter(ctx, authority.OfferRequest{Kind: permit.LinkageProofKind, DocumentType: tp.Type,
					DocumentNumber: tp.Number, Lang: c.lang})
			} else {
				_, err = f.a.OfferMine(ctx, token, permit.LinkageProofKind, 0, c.lang)
			}
			if err != nil {
				t.Fatal(err)
			}
			f.phone.mu.Lock()
			msg := f.phone.last[r.Person.Phone]
			f.phone.mu.Unlock()
			if !strings.Contains(msg, c.want) || !codeRE.MatchString(msg) {
				t.Errorf("lang %q: message %q, want a code and %q", c.lang, msg, c.want)
			}
		}
	})
}

// Online offers are limited per holder, across sessions and under
// parallel requests: MaxOffersOnline per OfferLimitWindow, then
// rate_limited; counter offers are not counted.
func TestOfferMineLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.validRecord(t, 0)
		tokens := []string{f.prove(t, r), f.prove(t, r)}
		var mu sync.Mutex
		made, limited := 0, 0
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				_, err := f.a.OfferMine(ctx, tokens[i%2], permit.LinkageProofKind, 0, "en")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case permit.ErrorCode(err) == permit.ECodeRateLimited:
					limited++
				default:
					t.Errorf("offer %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if made != authority.MaxOffersOnline || limited != 12-authority.MaxOffersOnline {
			t.Errorf("12 offers at once: %d made, %d rate_limited; want %d made", made, limited, authority.MaxOffersOnline)
		}
		if n := offerRows(t, db); n != authority.MaxOffersOnline {
			t.Errorf("%d offers recorded, want %d", n, authority.MaxOffersOnline)
		}
		// Another holder is not affected, nor is the counter.
		if _, err := f.a.OfferMine(ctx, f.prove(t, f.validRecord(t, 1)), permit.LinkageProofKind, 0, "en"); err != nil {
			t.Errorf("another holder's offer: %v", err)
		}
		counterOffer(t, f, r, permit.LinkageProofKind)
		// After the window, the holder may ask again.
		f.clock.add(authority.OfferLimitWindow + time.Second)
		if _, err := f.a.OfferMine(ctx, tokens[0], permit.LinkageProofKind, 0, "en"); err != nil {
			t.Errorf("an offer after the window: %v", err)
		}
	})
}
