//go:build pkcs11

package authority_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// BenchmarkIssueHSM measures counter issuance with the issuer key in a
// SoftHSM2 token against issuance with a key file, alternated in one run
// on two like SQLite stores, and reports hsm/file. SoftHSM2 signs in
// software, so the ratio is the PKCS#11 path's overhead, not an HSM's
// speed. Sign compares the bare signatures the same way.
//
//	go test -tags pkcs11 -run - -bench BenchmarkIssueHSM ./internal/authority
func BenchmarkIssueHSM(b *testing.B) {
	policy := permit.DefaultPolicy()
	kp := policy.Kinds[permit.TemporaryEPermit]
	kp.MonthlyQuota = 0
	policy.Kinds[permit.TemporaryEPermit] = kp
	cfg := authority.Config{Policy: policy}
	const people = 2000
	hsm := newKeyFixture(b, storetest.Open(b, store.SQLite), cfg, people, hsmStore(b))
	files := &keys.Store{Dir: b.TempDir()}
	b.Cleanup(func() { files.Close() })
	file := newKeyFixture(b, storetest.Open(b, store.SQLite), cfg, people, files)

	// Both fixtures hold the same registry: the same people, in turn.
	var eligible []permit.TravelPermit
	for _, r := range file.recs {
		if tp := r.TravelPermits[0]; tp.Status != permit.StatusCancelled && !tp.Expired(file.clock.now().AddDate(0, 6, 0)) {
			eligible = append(eligible, tp)
		}
	}
	holder := &newDevice(b).key.PublicKey
	step := (7*24*time.Hour + time.Second) / time.Duration(len(eligible))
	i := map[*fixture]int{}
	issue := func(b *testing.B, f *fixture) {
		f.clock.add(step)
		tp := eligible[i[f]%len(eligible)]
		i[f]++
		if _, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, holder); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Ratio", func(b *testing.B) {
		var tHSM, tFile time.Duration
		for b.Loop() {
			t0 := time.Now()
			issue(b, hsm)
			t1 := time.Now()
			issue(b, file)
			tHSM, tFile = tHSM+t1.Sub(t0), tFile+time.Since(t1)
		}
		n := float64(b.N)
		b.ReportMetric(float64(tHSM.Microseconds())/n, "hsm-µs/op")
		b.ReportMetric(float64(tFile.Microseconds())/n, "file-µs/op")
		b.ReportMetric(tHSM.Seconds()/tFile.Seconds(), "hsm/file")
	})

	signers := map[string]crypto.Signer{}
	for name, f := range map[string]*fixture{"hsm": hsm, "file": file} {
		ks, err := f.a.Keys(ctx)
		if err != nil {
			b.Fatal(err)
		}
		st := files
		if name == "hsm" {
			st = &keys.Store{}
			b.Cleanup(func() { st.Close() })
		}
		if signers[name], err = st.Signer(ks[0].Ref); err != nil {
			b.Fatal(err)
		}
	}
	digest := sha256.Sum256([]byte("status list"))
	sign := func(b *testing.B, s crypto.Signer) {
		if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Sign", func(b *testing.B) {
		var tHSM, tFile time.Duration
		for b.Loop() {
			t0 := time.Now()
			sign(b, signers["hsm"])
			t1 := time.Now()
			sign(b, signers["file"])
			tHSM, tFile = tHSM+t1.Sub(t0), tFile+time.Since(t1)
		}
		n := float64(b.N)
		b.ReportMetric(float64(tHSM.Microseconds())/n, "hsm-µs/op")
		b.ReportMetric(float64(tFile.Microseconds())/n, "file-µs/op")
		b.ReportMetric(tHSM.Seconds()/tFile.Seconds(), "hsm/file")
	})
}
