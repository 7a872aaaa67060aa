// Package verify is the offline verifier that gates, airline and railway
// systems and banks import to check what epermit issues. It depends only on
// package credential and the standard library: never on the authority's
// server, storage or web code.
//
// A verifier holds a TrustList, the authority's issuer keys (spec/formats.md
// §1), loaded from a file shipped to the gate or fetched from
// {authority}/.well-known/jwks.json and refreshed.
package verify
