package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// proveRecord runs identity proofing for rec through the API and returns
// the applicant session token.
func proveRecord(t *testing.T, api string, outbox *notify.Outbox, rec permit.Record) string {
	t.Helper()
	p := &rec.Person
	name := p.Name
	if name == "" {
		name = p.LatinName
	}
	code, out := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": rec.TravelPermits[0].Type.String(),
		"document_number": rec.TravelPermits[0].Number, "name": name, "birth_date": p.BirthDate.String()}, nil)
	if code != 201 {
		t.Fatalf("start = %d %v", code, out)
	}
	secret := out["session"].(string)
	otp := ""
	for _, m := range outbox.Messages() {
		if m.To == p.Phone {
			otp = sixDigits.FindString(m.Text)
		}
	}
	if code, out = call(t, "POST", api+"/proofing/code", secret, map[string]string{"code": otp}, nil); code != 200 {
		t.Fatalf("code = %d %v", code, out)
	}
	code, out = call(t, "POST", api+"/proofing/face", secret, map[string][]byte{"selfie": p.Portrait}, nil)
	if code != 200 || out["token"] == nil {
		t.Fatalf("face = %d %v", code, out)
	}
	return out["token"].(string)
}

// burst sends the same request n times at once and counts the 201s.
func burst(t *testing.T, n int, url, token string, body any) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			code, _ := call(t, "POST", url, token, body, nil)
			if code == 201 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	return ok
}

// One signature over one nonce buys one credential, however many copies of
// the request arrive at once: the nonce is consumed by exactly one
// transaction on both engines.
func TestNonceSingleUseUnderParallelRequests(t *testing.T) {
	const parallel, applicants = 10, 3
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		outbox := &notify.Outbox{}
		a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "https://epermit.test",
			Notifier: outbox, FaceMode: authority.FaceDemo, Demo: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs := seedRegistry(t, a, 30)
		srv := httptest.NewServer(New(a, slog.New(slog.DiscardHandler),
			Options{Outbox: outbox, RateLimit: 1000, RateBurst: 1000, InsecureCookies: true}))
		t.Cleanup(srv.Close)
		api := srv.URL + "/api/v1"

		now := time.Now()
		var eligible []permit.Record
		for _, r := range recs {
			tp, rp := &r.TravelPermits[0], r.ResidencePermit
			if tp.Status == permit.StatusValid && !tp.Expired(now.AddDate(0, 2, 0)) &&
				rp != nil && rp.Status == permit.StatusValid && !rp.Expired(now.AddDate(0, 2, 0)) {
				eligible = append(eligible, r)
			}
		}
		if len(eligible) < applicants {
			t.Fatalf("only %d eligible demo records", len(eligible))
		}
		epermits, linkages := 0, 0
		for _, rec := range eligible[:applicants] {
			token := proveRecord(t, api, outbox, rec)
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			jwk, _ := credential.NewJWK(&key.PublicKey)
			jwk.Kid = ""

			e := burst(t, parallel, api+"/epermits", token, map[string]any{"reason": "lost", "holder_key": jwk,
				"signature": signNonce(t, api, token, key)})
			l := burst(t, parallel, api+"/linkage", token, map[string]any{"holder_key": jwk,
				"signature": signNonce(t, api, token, key)})
			epermits, linkages = epermits+e, linkages+l
			if e != 1 || l != 1 {
				t.Errorf("%s: one signed nonce, %d parallel requests: %d e-permits and %d linkage proofs issued; want 1 and 1",
					rec.TravelPermits[0].Number, parallel, e, l)
			}
		}
		t.Logf("%s: %d applicants, %d identical requests each: e-permits %d/%d succeeded, linkage proofs %d/%d (want %d each)",
			db.Engine(), applicants, parallel, epermits, applicants*parallel, linkages, applicants*parallel, applicants)
	})
}
