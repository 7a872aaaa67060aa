//go:build pkcs11

package authority_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"slices"
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
// speed. Sign compares the bare signatures the same way. Issuance commits
// to SQLite with synchronous=FULL, so on a busy disk the fsyncs dominate;
// TMPDIR=/dev/shm puts both stores in memory and shows the signing path's
// share more plainly.
//
//	go test -tags pkcs11 -run - -bench BenchmarkIssueHSM ./internal/authority
func BenchmarkIssueHSM(b *testing.B) {
	policy := permit.DefaultPolicy()
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
	// Round the population every 16 days: each person's last e-permit
	// (7 days) has expired when their turn comes again, and no one has a
	// third turn in a calendar month (the default quota is 2).
	step := 16 * 24 * time.Hour / time.Duration(len(eligible))
	i := map[*fixture]int{}
	issue := func(b *testing.B, f *fixture) {
		f.clock.add(step)
		tp := eligible[i[f]%len(eligible)]
		i[f]++
		if _, err := f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, holder); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Ratio", alternate(func(b *testing.B) { issue(b, hsm) }, func(b *testing.B) { issue(b, file) }))

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
	b.Run("Sign", alternate(func(b *testing.B) { sign(b, signers["hsm"]) }, func(b *testing.B) { sign(b, signers["file"]) }))
}

// alternate runs hsm and file in turn and reports their mean times, the
// ratio of the sums (hsm/file) and the median of the iterations' own ratios
// (hsm/file-p50), the steadier figure on a shared machine, where a
// preempted or slow-synced iteration skews the sums.
func alternate(hsm, file func(*testing.B)) func(*testing.B) {
	return func(b *testing.B) {
		var tHSM, tFile time.Duration
		var ratios []float64
		for b.Loop() {
			t0 := time.Now()
			hsm(b)
			t1 := time.Now()
			file(b)
			dh, df := t1.Sub(t0), time.Since(t1)
			tHSM, tFile = tHSM+dh, tFile+df
			ratios = append(ratios, dh.Seconds()/df.Seconds())
		}
		slices.Sort(ratios)
		n := float64(b.N)
		b.ReportMetric(float64(tHSM.Microseconds())/n, "hsm-µs/op")
		b.ReportMetric(float64(tFile.Microseconds())/n, "file-µs/op")
		b.ReportMetric(tHSM.Seconds()/tFile.Seconds(), "hsm/file")
		b.ReportMetric(ratios[len(ratios)/2], "hsm/file-p50")
	}
}
