// Package verify is the offline verifier that gates, airline and railway
// systems and banks import to check what epermit issues. It depends only on
// package credential and the standard library: never on the authority's
// server, storage or web code.
//
// A verifier holds a TrustList, the authority's issuer keys (spec/formats.md
// §1), loaded from a file shipped to the gate or fetched from
// {authority}/.well-known/jwks.json and refreshed, and a StatusCache of the
// authority's status lists (spec §5), fetched from the URI in each
// credential's status claim, checked with the trust list and refreshed every
// ttl:
//
//	trust, _ := verify.FetchTrustList(ctx, nil, "https://epermit.example")
//	status := verify.NewStatusCache(trust, verify.StatusCacheOptions{})
//	now := time.Now()
//	v, iat, err := status.Status(ctx, ref.URI, ref.Idx, now)
//	switch {
//	case errors.Is(err, verify.ErrStatusUnknown):
//		// warning status_unknown: no fresh list; never treat as revoked
//	case v == verify.StatusRevoked, v == verify.StatusSuspended:
//		// refuse
//	}
//	age := max(now.Sub(iat), 0) // how old the list behind the answer is, to show at the gate
//	_ = age
//
// Issuer signatures are ES256, or SM2 with SM3 (spec §1.1) in a program
// that opts into SM2 by importing package credential/sm2, which registers
// the suite with package credential:
//
//	import _ "github.com/epermit/epermit/credential/sm2"
//
// so that a verifier that needs only ES256 links no SM2 code. Without it, a
// trust list's SM2 keys are left out and what they signed is unknown_key.
// With it or without, the trust-list key named by a kid decides the
// algorithm: an alg that is not the key's is refused with CodeAlgorithm.
//
// A verifier configured with the authority's root certificate (spec §1.2)
// accepts a trust list signed by that root from any channel, and uses each
// key only while the list is current, the key is not revoked and within its
// document-signer certificate (codes trust_list_expired, key_revoked,
// key_not_valid):
//
//	root, _ := verify.LoadRoot("root.pem")
//	trust, _ := verify.NewSignedTrustUpdater(ctx, nil, "https://epermit.example", root)
//	go trust.Run(ctx, time.Hour, nil) // keeps the last good list; refuses rollbacks
//	v := verify.New(trust, verify.NewStatusCache(trust, verify.StatusCacheOptions{}), verify.Policy{Use: verify.UseTrain})
package verify
