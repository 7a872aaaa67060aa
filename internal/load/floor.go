package load

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// BareVerifyRate is the floor of online verification: how many times a
// second this machine's cores, all of them, run two bare P-256 signature
// verifications (an issuer's and a holder's) on already-parsed keys, with
// nothing else: no parsing, no HTTP, no store. It measures for d.
func BareVerifyRate(ctx context.Context, d time.Duration) float64 {
	type pair struct {
		pub    *ecdsa.PublicKey
		digest [32]byte
		sig    []byte
	}
	mk := func(msg string) pair {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		h := sha256.Sum256([]byte(msg))
		sig, _ := ecdsa.SignASN1(rand.Reader, k, h[:])
		return pair{&k.PublicKey, h, sig}
	}
	issuer, holder := mk("credential"), mk("proof")
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ops atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			n := int64(0)
			for ctx.Err() == nil {
				if !ecdsa.VerifyASN1(issuer.pub, issuer.digest[:], issuer.sig) ||
					!ecdsa.VerifyASN1(holder.pub, holder.digest[:], holder.sig) {
					panic("load: a good signature did not verify")
				}
				n++
			}
			ops.Add(n)
		})
	}
	wg.Wait()
	return float64(ops.Load()) / time.Since(start).Seconds()
}
