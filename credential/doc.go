// Package credential implements epermit's wire formats (spec/formats.md): key
// ids and the JWK Set trust list, the temporary e-permit as a COSE_Sign1 CWT,
// the gate presentation and its EP1 base45 QR text, status list tokens and
// the SD-JWT linkage proof. It encodes, signs and decodes; deciding whether a
// credential is acceptable is the verify package's job.
//
// Signing always goes through crypto.Signer, so issuer keys may live in files
// or in an HSM.
//
// Issuer keys are ES256 (P-256), built in, or of a suite another package
// registers with RegisterAlgorithm: package credential/sm2 adds SM2 with SM3
// (spec §1.1). The issuer key's algorithm signs; a verification takes the
// algorithm from the trust-list key and refuses any other alg
// (ErrAlgorithm). Holder keys are P-256 (ES256) whatever the issuer uses.
package credential
