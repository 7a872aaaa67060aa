package verify

import (
	"context"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

// Goal: verifying a linkage presentation with 2 disclosures and a KB-JWT
// costs at most 1.25× two bare P-256 verifications (the issuer's and the
// holder's signatures): the SD-JWT parsing, digests and checks together
// stay under a quarter of the cryptography.

func benchLinkage(b *testing.B) (keys Keys, text string) {
	issuer, holder := readKey(b, "issuer-key.pem"), readKey(b, "holder-key.pem")
	sd := issueLinkage(b, issuer, linkageClaims(&holder.PublicKey))
	text = presentLinkage(b, sd, holder, lAud, lNonce, lProof,
		credential.ClaimTravelPermitNumber, credential.ClaimResidencePermitNumber)
	return trustOf(b, issuer), text
}

var benchPolicy = LinkagePolicy{Audience: lAud, Nonce: lNonce}

func BenchmarkVerifyLinkage(b *testing.B) {
	keys, text := benchLinkage(b)
	ctx := context.Background()
	st := agedStatus{StatusValid, time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if r := VerifyLinkage(ctx, keys, st, text, benchPolicy, lNow); r.Decision != Accept {
			b.Fatalf("%s %s", r.Decision, r.Code)
		}
	}
}

// BenchmarkVerifyLinkageVsBare alternates a linkage verification and two
// bare P-256 verifications in each iteration and reports x-bare, the ratio
// of their times (goal ≤ 1.25).
func BenchmarkVerifyLinkageVsBare(b *testing.B) {
	keys, text := benchLinkage(b)
	ctx := context.Background()
	st := agedStatus{StatusValid, time.Minute}
	verify := func() bool {
		return VerifyLinkage(ctx, keys, st, text, benchPolicy, lNow).Decision == Accept
	}
	full, floor, _ := vsBare(b, verify, bareVerify(b))
	b.ReportMetric(float64(full)/float64(floor[0]), "x-bare")
}
