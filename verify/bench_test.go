package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"testing"
	"time"
)

// Spec goal: a full gate verification costs at most 1.10× two bare P-256
// signature verifications. Compare BenchmarkVerify with
// BenchmarkTwoBareP256Verify (benchstat), or read the ratio that
// BenchmarkVerifyVsBare measures by alternating both in one run.

// benchVerifier returns one gate verification a call: two presentations
// of different credentials signed by issuer (trusted as trusted's public
// key) in turn. A replay cache of one entry forgets each before it comes
// back, so every call runs all twelve checks (the cache's insert and
// eviction included) without a fresh QR per iteration. Anything but
// Accept fails b.
func benchVerifier(b *testing.B, issuer crypto.Signer, trusted *ecdsa.PrivateKey) func() bool {
	holder := readKey(b, "holder-key.pem")
	var texts [2]string
	for i := range texts {
		c := fixtureClaims(&holder.PublicKey)
		c.ID[0] = byte(i)
		texts[i] = present(b, sign(b, c, issuer), holder, vProof)
	}
	v := New(trustOf(b, trusted), agedStatus{StatusValid, time.Minute}, Policy{Use: UseTrain})
	v.Replay = NewReplayCache(1)
	ctx := context.Background()
	i := 0
	return func() bool {
		r := v.Verify(ctx, texts[i%2], vScan)
		i++
		if r.Decision != Accept {
			b.Fatalf("%s %s", r.Decision, r.Code)
		}
		return true
	}
}

// p256Verifier is benchVerifier with the P-256 issuer key.
func p256Verifier(b *testing.B) func() bool {
	issuer := readKey(b, "issuer-key.pem")
	return benchVerifier(b, issuer, issuer)
}

// bareP256 returns one ECDSA verification of a 32-byte digest of msg with
// a parsed key and an encoded signature.
func bareP256(b *testing.B, key, msg string) func() bool {
	k := readKey(b, key)
	d := sha256.Sum256([]byte(msg))
	s, err := ecdsa.SignASN1(rand.Reader, k, d[:])
	if err != nil {
		b.Fatal(err)
	}
	return func() bool { return ecdsa.VerifyASN1(&k.PublicKey, d[:], s) }
}

// both returns f then g, the issuer's and the holder's verification.
func both(f, g func() bool) func() bool {
	return func() bool { return f() && g() }
}

// bareVerify returns two ECDSA verifications (the issuer's, the holder's
// proof): the floor of what a gate must compute.
func bareVerify(b *testing.B) func() bool {
	return both(bareP256(b, "issuer-key.pem", "credential"), bareP256(b, "holder-key.pem", "proof"))
}

// loop runs work once an iteration; work that returns false fails b.
func loop(b *testing.B, work func() bool) {
	b.ReportAllocs()
	for b.Loop() {
		if !work() {
			b.Fatal("verify failed")
		}
	}
}

// vsBare runs work and then each of floors in every iteration, so load on
// a shared machine shifts them alike. It returns work's total time, each
// floor's, and per floor the median of the iterations' own ratios (work's
// time over the floor's), which a preempted iteration does not skew.
func vsBare(b *testing.B, work func() bool, floors ...func() bool) (full time.Duration, floor []time.Duration, p50 []float64) {
	floor = make([]time.Duration, len(floors))
	ratios := make([][]float64, len(floors))
	t := make([]time.Time, len(floors)+1)
	for b.Loop() {
		t0 := time.Now()
		ok := work()
		t[0] = time.Now()
		for j, f := range floors {
			ok = f() && ok
			t[j+1] = time.Now()
		}
		if !ok {
			b.Fatal("verification failed")
		}
		w := t[0].Sub(t0)
		full += w
		for j := range floors {
			d := t[j+1].Sub(t[j])
			floor[j] += d
			ratios[j] = append(ratios[j], float64(w)/float64(d))
		}
	}
	for _, r := range ratios {
		slices.Sort(r)
		p50 = append(p50, r[len(r)/2])
	}
	return full, floor, p50
}

func BenchmarkVerify(b *testing.B) { loop(b, p256Verifier(b)) }

func BenchmarkTwoBareP256Verify(b *testing.B) { loop(b, bareVerify(b)) }

// BenchmarkVerifyVsBare alternates both workloads in each iteration and
// reports x-bare, the ratio of their times (goal ≤ 1.10), and x-bare-p50,
// the median of the iterations' own ratios.
func BenchmarkVerifyVsBare(b *testing.B) {
	full, floor, p50 := vsBare(b, p256Verifier(b), bareVerify(b))
	b.ReportMetric(float64(full)/float64(floor[0]), "x-bare")
	b.ReportMetric(p50[0], "x-bare-p50")
}
