package authority_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/face"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// From proofing to an issued credential that checks against the trust list.
func TestProofingToCredential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		chan0 := f.recs[0]
		token := f.prove(t, chan0)
		d := newDevice(t)
		c, err := f.apply(t, token, d, permit.ReasonForgotten, "")
		if err != nil {
			t.Fatal(err)
		}
		ep, err := credential.ParseEPermit(c.Token)
		if err != nil {
			t.Fatal(err)
		}
		set, _ := f.a.TrustList(ctx)
		trusted, _ := credential.ParseJWKSet(mustJSON(t, set))
		if err := ep.VerifySignature(trusted[ep.KidText()]); err != nil {
			t.Fatalf("credential does not verify with the trust list: %v", err)
		}
		cl := ep.Claims
		now := f.clock.now().Truncate(time.Second)
		p := cl.Permit
		switch {
		case cl.Issuer != "CN-NIA", !cl.IssuedAt.Equal(now), !cl.NotBefore.Equal(now),
			!cl.Expiry.Equal(now.Add(7 * 24 * time.Hour)):
			t.Errorf("times/issuer: %+v", cl)
		case p.DocumentNumber != "H12345678", p.Name != "陳大文", p.LatinName != "CHAN, TAI MAN", p.BirthDate != "1990-01-01",
			p.Sex != credential.SexMale, p.Kind != credential.KindTemporaryEPermit, p.Reason != credential.ReasonForgotten:
			t.Errorf("permit claim: %+v", p)
		case len(p.Scopes) != 2 || p.HasScope(credential.ScopeBorder):
			t.Errorf("scopes %v", p.Scopes)
		case p.PortraitDigest != credential.PortraitDigest(chan0.Person.Portrait):
			t.Errorf("portrait digest")
		case !strings.HasPrefix(cl.Status.URI, "https://epermit.test/s/") || int64(cl.Status.Idx) != c.StatusIndex:
			t.Errorf("status %+v vs %d", cl.Status, c.StatusIndex)
		case !cl.Holder.Equal(&d.key.PublicKey):
			t.Errorf("cnf is not the device key")
		}
		mine, err := f.a.MyCredentials(ctx, token)
		if err != nil || len(mine) != 1 || !bytes.Equal(mine[0].ID, c.ID) {
			t.Fatalf("my credentials = %v, %v", mine, err)
		}
		if _, err := f.a.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProofingAbuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.recs[1]

		t.Run("no enumeration oracle", func(t *testing.T) {
			unknown := startFor(r)
			unknown.DocumentNumber = "H99999999"
			wrongName := startFor(f.recs[2])
			wrongName.Name = "王小明"
			wrongBirth := startFor(f.recs[3])
			wrongBirth.BirthDate = wrongBirth.BirthDate.AddDays(1)
			var msgs []string
			for _, in := range []authority.ProofingStart{unknown, wrongName, wrongBirth} {
				_, err := f.a.StartProofing(ctx, in)
				if permit.ErrorCode(err) != permit.ECodeDetailsMismatch {
					t.Fatalf("mismatch = %v", err)
				}
				msgs = append(msgs, err.Error())
			}
			if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
				t.Fatalf("mismatch messages differ: %q", msgs)
			}
		})

		t.Run("wrong code five times", func(t *testing.T) {
			st, err := f.a.StartProofing(ctx, startFor(r))
			if err != nil {
				t.Fatal(err)
			}
			good := f.phone.code(t, r.Person.Phone)
			wrong := "000000"
			if good == wrong {
				wrong = "111111"
			}
			for i := 1; i <= 5; i++ {
				_, err := f.a.SubmitCode(ctx, st.Secret, wrong)
				want := permit.ECodeCodeInvalid
				if i == 5 {
					want = permit.ECodeTooMany
				}
				if permit.ErrorCode(err) != want {
					t.Fatalf("try %d: %v, want %s", i, err, want)
				}
			}
			if _, err := f.a.SubmitCode(ctx, st.Secret, good); permit.ErrorCode(err) != permit.ECodeTooMany {
				t.Fatalf("right code after 5 wrong = %v, want too_many_attempts", err)
			}
		})

		t.Run("expired code", func(t *testing.T) {
			st, err := f.a.StartProofing(ctx, startFor(f.recs[4]))
			if err != nil {
				t.Fatal(err)
			}
			f.clock.add(authority.CodeTTL + time.Second)
			if _, err := f.a.SubmitCode(ctx, st.Secret, f.phone.code(t, f.recs[4].Person.Phone)); permit.ErrorCode(err) != permit.ECodeCodeExpired {
				t.Fatalf("expired code = %v", err)
			}
		})

		t.Run("reused code", func(t *testing.T) {
			st, err := f.a.StartProofing(ctx, startFor(f.recs[5]))
			if err != nil {
				t.Fatal(err)
			}
			code := f.phone.code(t, f.recs[5].Person.Phone)
			if _, err := f.a.SubmitCode(ctx, st.Secret, code); err != nil {
				t.Fatal(err)
			}
			if _, err := f.a.SubmitCode(ctx, st.Secret, code); permit.ErrorCode(err) != permit.ECodeCodeInvalid {
				t.Fatalf("reused code = %v", err)
			}
		})

		t.Run("rate limit per document", func(t *testing.T) {
			r := f.recs[6]
			bad := startFor(r)
			bad.Name = "王小明"
			for range 5 {
				f.a.StartProofing(ctx, bad)
			}
			// Even the right details are refused now, and so is a new client.
			good := startFor(r)
			good.Client = "192.0.2.1"
			if _, err := f.a.StartProofing(ctx, good); permit.ErrorCode(err) != permit.ECodeTooMany {
				t.Fatalf("6th attempt = %v, want too_many_attempts", err)
			}
			f.clock.add(16 * time.Minute)
			if _, err := f.a.StartProofing(ctx, good); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})

		t.Run("rate limit per client", func(t *testing.T) {
			f.clock.add(16 * time.Minute)
			var last error
			for i := range 21 {
				in := startFor(f.recs[10+i%20])
				in.Client = "203.0.113.99"
				in.Name = "王小明"
				_, last = f.a.StartProofing(ctx, in)
			}
			if permit.ErrorCode(last) != permit.ECodeTooMany {
				t.Fatalf("21st attempt from one client = %v", last)
			}
		})
	})
}

func TestFaceModes(t *testing.T) {
	t.Run("demo mode needs the demo", func(t *testing.T) {
		_, err := authority.New(storetest.Open(t, store.SQLite), keys.Files{Dir: t.TempDir()},
			authority.Config{FaceMode: authority.FaceDemo}, nil)
		if err == nil {
			t.Fatal("face mode demo accepted outside the demo")
		}
	})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{FaceMode: authority.FaceOfficer})
		r := f.recs[0]
		st, _ := f.a.StartProofing(ctx, startFor(r))
		f.a.SubmitCode(ctx, st.Secret, f.phone.code(t, r.Person.Phone))
		ps, err := f.a.SubmitFace(ctx, st.Secret, r.Person.Portrait)
		if err != nil || ps.State != store.ProofingFacePending || ps.Token != "" {
			t.Fatalf("officer mode: %+v, %v", ps, err)
		}
		queue, _ := f.a.PendingFaceReviews(ctx)
		if len(queue) != 1 || queue[0].Document != "hk:H12345678" || !bytes.Equal(queue[0].Selfie, r.Person.Portrait) {
			t.Fatalf("queue = %+v", queue)
		}
		if ps, _ := f.a.ProofingStatus(ctx, st.Secret); ps.State != store.ProofingFacePending {
			t.Fatalf("status before review: %+v", ps)
		}
		if err := f.a.ReviewFace(ctx, queue[0].ID, true, "matches"); err != nil {
			t.Fatal(err)
		}
		if err := f.a.ReviewFace(ctx, queue[0].ID, false, ""); permit.ErrorCode(err) != permit.ECodeWrongState {
			t.Fatalf("second review = %v", err)
		}
		ps, _ = f.a.ProofingStatus(ctx, st.Secret)
		if ps.State != store.ProofingVerified || ps.Token == "" {
			t.Fatalf("after approval: %+v", ps)
		}
		if again, _ := f.a.ProofingStatus(ctx, st.Secret); again.Token != "" {
			t.Fatal("the session token was handed out twice")
		}
		if _, err := f.a.Session(ctx, ps.Token); err != nil {
			t.Fatal(err)
		}
	})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// A fake provider that matches only the selfie "equal to the portrait".
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct{ Reference, Probe []byte }
			jsonDecode(r, &req)
			if bytes.Equal(req.Reference, req.Probe) {
				w.Write([]byte(`{"match":true,"score":0.97}`))
			} else {
				w.Write([]byte(`{"match":false,"score":0.12}`))
			}
		}))
		defer srv.Close()
		f := newFixture(t, db, authority.Config{FaceMode: authority.FaceHTTP,
			FaceCheck: &face.Provider{URL: srv.URL, Client: srv.Client()}})
		for i, selfie := range [][]byte{f.recs[1].Person.Portrait, f.recs[3].Person.Portrait} {
			r := f.recs[2]
			st, err := f.a.StartProofing(ctx, startFor(r))
			if err != nil {
				t.Fatal(err)
			}
			f.a.SubmitCode(ctx, st.Secret, f.phone.code(t, r.Person.Phone))
			ps, err := f.a.SubmitFace(ctx, st.Secret, selfie)
			if bytes.Equal(selfie, r.Person.Portrait) {
				if err != nil || ps.Token == "" {
					t.Fatalf("matching selfie %d: %+v, %v", i, ps, err)
				}
			} else if permit.ErrorCode(err) != permit.ECodeFaceRejected {
				t.Fatalf("other face %d = %+v, %v; want face_rejected", i, ps, err)
			}
		}
	})
}

func TestApplyRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		token := f.prove(t, f.recs[0])
		d := newDevice(t)

		// A retry with the same Idempotency-Key gets the same credential.
		first, err := f.apply(t, token, d, permit.ReasonLost, "retry-1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.apply(t, token, d, permit.ReasonLost, "retry-1")
		if err != nil || !bytes.Equal(first.ID, again.ID) {
			t.Fatalf("idempotent retry = %x, %v; want %x", again.ID, err, first.ID)
		}

		// Proof of possession: a signature by another key, and a used nonce.
		nonce, _, _ := f.a.Nonce(ctx, token)
		bad := authority.ApplyRequest{Reason: permit.ReasonLost, HolderKey: &d.key.PublicKey, Signature: newDevice(t).sign(t, nonce)}
		if _, err := f.a.Apply(ctx, token, bad); permit.ErrorCode(err) != permit.ECodeProofInvalid {
			t.Fatalf("foreign signature = %v", err)
		}
		good := authority.ApplyRequest{Reason: permit.ReasonLost, HolderKey: &d.key.PublicKey, Signature: d.sign(t, nonce)}
		second, err := f.a.Apply(ctx, token, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Apply(ctx, token, good); permit.ErrorCode(err) != permit.ECodeProofInvalid {
			t.Fatalf("reused nonce = %v", err)
		}

		// The second e-permit superseded the first; the third is over quota.
		mine, _ := f.a.MyCredentials(ctx, token)
		if len(mine) != 2 || !bytes.Equal(mine[0].ID, second.ID) || mine[0].State != permit.CredentialActive ||
			mine[1].State != permit.CredentialRevoked || !strings.HasPrefix(mine[1].StateReason, "superseded by") {
			t.Fatalf("after two applications: %+v", mine)
		}
		if _, err := f.apply(t, token, d, permit.ReasonLost, ""); permit.ErrorCode(err) != permit.ECodeQuotaExceeded {
			t.Fatalf("third application = %v", err)
		}
		// Next month (Shanghai time) the quota starts again.
		f.clock.add(6 * 24 * time.Hour) // 2026-12-01 02:00 UTC is December in Shanghai
		token = f.prove(t, f.recs[0])
		if _, err := f.apply(t, token, d, permit.ReasonDamaged, ""); err != nil {
			t.Fatalf("first application in December: %v", err)
		}

		// Cancel: only one's own, once.
		mine, _ = f.a.MyCredentials(ctx, token)
		other := f.prove(t, f.recs[1])
		if err := f.a.CancelMine(ctx, other, mine[0].ID); permit.ErrorCode(err) != permit.ECodeNotFound {
			t.Fatalf("cancelling another's e-permit = %v", err)
		}
		if err := f.a.CancelMine(ctx, token, mine[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := f.a.CancelMine(ctx, token, mine[0].ID); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Fatalf("second cancel = %v", err)
		}
		if _, err := f.a.Apply(ctx, "not-a-token", good); permit.ErrorCode(err) != permit.ECodeUnauthorized {
			t.Fatalf("unknown token = %v", err)
		}
	})
}

// 20 parallel applications for one person: never over quota, never two
// active e-permits.
func TestConcurrentApplications(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		tp := f.recs[0].TravelPermits[0]
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &newDevice(t).key.PublicKey)
			}()
		}
		wg.Wait()
		issued := 0
		for _, err := range errs {
			switch {
			case err == nil:
				issued++
			case permit.ErrorCode(err) != permit.ECodeQuotaExceeded:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if issued != 2 {
			t.Fatalf("%d issued, want exactly the quota of 2", issued)
		}
		var current []permit.Credential
		db.View(ctx, func(tx *store.Tx) (err error) {
			current, err = tx.Credentials(ctx, 1, permit.TemporaryEPermit, true)
			return err
		})
		active := 0
		for _, c := range current {
			if c.State == permit.CredentialActive {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("%d active e-permits, want 1", active)
		}
		if _, err := f.a.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIssueAtCounter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		pub := &newDevice(t).key.PublicKey
		// The 1999-style printed number: lifetime number + renewal count.
		c, err := f.a.IssueAtCounter(ctx, permit.HKHomeReturnPermit, "H1234567802", permit.ReasonDamaged, pub)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		if !bytes.Equal(c.HolderKey, der) {
			t.Fatal("holder key not recorded")
		}
		ev, _ := f.a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
		if len(ev) != 1 || ev[0].Action != "credential.issue" || !strings.Contains(string(ev[0].Details), `"channel":"counter"`) {
			t.Fatalf("audit = %+v", ev)
		}
		for _, tc := range []struct {
			name string
			t    permit.DocumentType
			num  string
			code permit.Code
		}{
			{"unknown permit", permit.HKHomeReturnPermit, "H99999999", permit.ECodeNotFound},
			{"bad number", permit.TWTravelPermit, "H12345678", permit.ECodeInvalid},
		} {
			if _, err := f.a.IssueAtCounter(ctx, tc.t, tc.num, permit.ReasonLost, pub); permit.ErrorCode(err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		// An expired or cancelled physical permit is refused.
		for _, r := range f.recs {
			tp := r.TravelPermits[0]
			var want permit.Code
			switch {
			case tp.Status == permit.StatusCancelled:
				want = permit.ECodePermitCancelled
			case tp.Expired(f.clock.now()):
				want = permit.ECodePermitExpired
			default:
				continue
			}
			_, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, pub)
			var pe *permit.Error
			if !errors.As(err, &pe) || pe.Code != want {
				t.Errorf("%s %s: %v, want %s", tp.Key(), tp.Status, err, want)
			}
		}
	})
}
