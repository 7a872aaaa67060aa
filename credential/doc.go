// Package credential implements epermit's wire formats (spec/formats.md): key
// ids and the JWK Set trust list, the temporary e-permit as a COSE_Sign1 CWT,
// the gate presentation and its EP1 base45 QR text, status list tokens and
// the SD-JWT linkage proof. It encodes, signs and decodes; deciding whether a
// credential is acceptable is the verify package's job.
//
// Signing always goes through crypto.Signer, so issuer keys may live in files
// or in an HSM.
package credential
