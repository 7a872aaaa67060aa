package credential

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// The three benchmarks below are meant to be compared (e.g. with benchstat):
// spec goal, full verification ≤ 1.10× two bare P-256 verifications.

// BenchmarkParseQR is the decode cost alone: prefix, base45, strict CBOR,
// cnf key decompression.
func BenchmarkParseQR(b *testing.B) {
	text := readVector(b, "ep1-good.json").Text
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQR(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresentationSignatures is parse plus both signature checks
// of the spec vector: everything in a gate verification that costs CPU.
func BenchmarkVerifyPresentationSignatures(b *testing.B) {
	v := readVector(b, "ep1-good.json")
	p0, err := ParseQR(v.Text)
	if err != nil {
		b.Fatal(err)
	}
	issuer := trustKey(b, v, p0)
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseQR(v.Text)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.CheckAlgorithms(); err != nil {
			b.Fatal(err)
		}
		if err := p.VerifyIssuer(issuer); err != nil {
			b.Fatal(err)
		}
		if err := p.VerifyHolderProof(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTwoBareP256Verify is the floor: two ecdsa.VerifyASN1 calls on a
// 32-byte digest with already-parsed keys and already-encoded signatures.
func BenchmarkTwoBareP256Verify(b *testing.B) {
	f := newFixture(b)
	d1, d2 := sha256.Sum256([]byte("credential")), sha256.Sum256([]byte("proof"))
	s1, err := ecdsa.SignASN1(rand.Reader, f.issuer, d1[:])
	if err != nil {
		b.Fatal(err)
	}
	s2, err := ecdsa.SignASN1(rand.Reader, f.holder, d2[:])
	if err != nil {
		b.Fatal(err)
	}
	ipub, hpub := &f.issuer.PublicKey, &f.holder.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(ipub, d1[:], s1) || !ecdsa.VerifyASN1(hpub, d2[:], s2) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkVerifyVsBare alternates the two workloads above within each
// iteration and reports their time ratio, so that load on a shared machine
// shifts both sides alike. The spec goal is x-bare ≤ 1.10.
func BenchmarkVerifyVsBare(b *testing.B) {
	v := readVector(b, "ep1-good.json")
	p0, err := ParseQR(v.Text)
	if err != nil {
		b.Fatal(err)
	}
	issuer := trustKey(b, v, p0)
	f := newFixture(b)
	d1, d2 := sha256.Sum256([]byte("credential")), sha256.Sum256([]byte("proof"))
	s1, _ := ecdsa.SignASN1(rand.Reader, f.issuer, d1[:])
	s2, _ := ecdsa.SignASN1(rand.Reader, f.holder, d2[:])
	var full, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		p, err := ParseQR(v.Text)
		if err != nil || p.CheckAlgorithms() != nil || p.VerifyIssuer(issuer) != nil || p.VerifyHolderProof() != nil {
			b.Fatal("vector does not verify")
		}
		t1 := time.Now()
		if !ecdsa.VerifyASN1(&f.issuer.PublicKey, d1[:], s1) || !ecdsa.VerifyASN1(&f.holder.PublicKey, d2[:], s2) {
			b.Fatal("verify failed")
		}
		t2 := time.Now()
		full += t1.Sub(t0)
		bare += t2.Sub(t1)
	}
	b.ReportMetric(float64(full)/float64(bare), "x-bare")
}

// BenchmarkSignEPermit and BenchmarkPresent are the issuer and device
// costs, for capacity planning.
func BenchmarkSignEPermit(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignEPermit(f.claims, f.kid, f.issuer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPresent(b *testing.B) {
	f := newFixture(b)
	cred := f.sign(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Present(cred, f.holder, f.proofAt)
		if err != nil {
			b.Fatal(err)
		}
		_ = EncodeQR(p)
	}
}
