package verify

import (
	"context"
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

// benchVerifier verifies two presentations of different credentials in
// turn; a replay cache of one entry forgets each before it comes back, so
// every call runs all twelve checks (the cache's insert and eviction
// included) without a fresh QR per iteration.
func benchVerifier(b *testing.B) (v *Verifier, texts [2]string) {
	issuer, holder := readKey(b, "issuer-key.pem"), readKey(b, "holder-key.pem")
	for i := range texts {
		c := fixtureClaims(&holder.PublicKey)
		c.ID[0] = byte(i)
		texts[i] = present(b, sign(b, c, issuer), holder, vProof)
	}
	v = New(trustOf(b, issuer), agedStatus{StatusValid, time.Minute}, Policy{Use: UseTrain})
	v.Replay = NewReplayCache(1)
	return v, texts
}

func BenchmarkVerify(b *testing.B) {
	v, texts := benchVerifier(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if r := v.Verify(ctx, texts[i%2], vScan); r.Decision != Accept {
			b.Fatalf("%s %s", r.Decision, r.Code)
		}
		i++
	}
}

// bareVerify returns two ECDSA verifications on 32-byte digests with parsed
// keys and encoded signatures: the floor of what a gate must compute.
func bareVerify(b *testing.B) func() bool {
	k1, k2 := readKey(b, "issuer-key.pem"), readKey(b, "holder-key.pem")
	d1, d2 := sha256.Sum256([]byte("credential")), sha256.Sum256([]byte("proof"))
	s1, err1 := ecdsa.SignASN1(rand.Reader, k1, d1[:])
	s2, err2 := ecdsa.SignASN1(rand.Reader, k2, d2[:])
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	return func() bool {
		return ecdsa.VerifyASN1(&k1.PublicKey, d1[:], s1) && ecdsa.VerifyASN1(&k2.PublicKey, d2[:], s2)
	}
}

func BenchmarkTwoBareP256Verify(b *testing.B) {
	bare := bareVerify(b)
	b.ReportAllocs()
	for b.Loop() {
		if !bare() {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkVerifyVsBare alternates both workloads in each iteration, so
// load on a shared machine shifts both alike, and reports x-bare, the
// ratio of their times (goal ≤ 1.10), and x-bare-p50, the median of the
// iterations' own ratios, which a preempted iteration does not skew.
func BenchmarkVerifyVsBare(b *testing.B) {
	v, texts := benchVerifier(b)
	bare := bareVerify(b)
	ctx := context.Background()
	var full, floor time.Duration
	var ratios []float64
	i := 0
	for b.Loop() {
		t0 := time.Now()
		r := v.Verify(ctx, texts[i%2], vScan)
		t1 := time.Now()
		ok := bare()
		t2 := time.Now()
		if r.Decision != Accept || !ok {
			b.Fatal("verification failed")
		}
		full += t1.Sub(t0)
		floor += t2.Sub(t1)
		ratios = append(ratios, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
		i++
	}
	slices.Sort(ratios)
	b.ReportMetric(float64(full)/float64(floor), "x-bare")
	b.ReportMetric(ratios[len(ratios)/2], "x-bare-p50")
}
