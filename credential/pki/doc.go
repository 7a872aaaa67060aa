// Package pki is epermit's small X.509 profile for a root of trust
// (spec/formats.md §1.2): an offline root certificate, document-signer
// (DS) certificates for issuer keys, PKCS#10 requests for them, cross
// certificates for a root rollover, and the trust list the root signs.
//
// It builds and parses its certificates with encoding/asn1 rather than
// crypto/x509 so that ES256 and SM2 (with SM3 and the default
// distinguishing ID) go through one code path: crypto/x509 cannot parse a
// key on the SM2 curve. Signatures go through the issuer suites of package
// credential, so SM2 works once credential/sm2 is imported, and signers may
// be PKCS#11 keys. The package does no I/O, so package verify may import it.
//
// The parsers accept the profile this package makes, not X.509 at large:
// v3, EC keys of an issuer suite, ecdsa-with-SHA256 or SM2-with-SM3
// signatures without parameters, critical basicConstraints and keyUsage, a
// subjectKeyIdentifier equal to the spec §1 key id, and no unknown critical
// extension.
package pki
