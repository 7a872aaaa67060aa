package permit

// Code is a stable reason code: the "code" of an API problem, the code the
// CLI prints, the key of an officer console message. Clients match on codes,
// so a code is never renamed. Every code is declared here, in this one list;
// the web layer keeps one table from code to HTTP status, and its test fails
// for a code declared here without a status.
type Code string

// Codes of any request.
const (
	ECodeInvalid  Code = "invalid"   // input failed validation; see the field problems
	ECodeNotFound Code = "not_found" // the thing asked for does not exist
	ECodeConflict Code = "conflict"  // the request contradicts the current state
	ECodeInternal Code = "internal"  // anything unexpected; details are only logged
)

// Codes of the issuance rules (Policy.Decide).
const (
	ECodeReasonInvalid   Code = "reason_invalid"
	ECodePermitExpired   Code = "permit_expired"
	ECodePermitCancelled Code = "permit_cancelled"
	ECodeQuotaExceeded   Code = "quota_exceeded"
	ECodeKindDisabled    Code = "kind_disabled"
	ECodeScopeNotAllowed Code = "scope_not_allowed"
)

// Codes of authentication and access.
const (
	ECodeUnauthorized Code = "unauthorized" // no credential, or one that is wrong, expired or disabled
	ECodeForbidden    Code = "forbidden"    // authenticated, but not allowed to do this
)

// Codes of identity proofing.
const (
	ECodeDetailsMismatch Code = "details_mismatch"
	ECodeCodeInvalid     Code = "code_invalid"
	ECodeCodeExpired     Code = "code_expired"
	ECodeTooMany         Code = "too_many_attempts"
	ECodeSessionExpired  Code = "session_expired"
	ECodeWrongState      Code = "wrong_state"
	ECodeFaceRejected    Code = "face_rejected"
)

// Codes of issuance beyond the rules.
const (
	ECodeProofInvalid Code = "proof_invalid" // the device key's proof of possession failed
	ECodeIdempotency  Code = "idempotency_conflict"
)

// Codes of linkage.
const (
	// ECodeNotLinkable: the holder's travel permit or residence permit is
	// missing or not valid, so no linkage proof can be issued.
	ECodeNotLinkable Code = "not_linkable"
)

// Codes of online verification.
const (
	ECodeNotValid        Code = "not_valid"        // the credential is revoked, suspended or expired
	ECodePortraitChanged Code = "portrait_changed" // the registry's portrait changed since issuance
)

// Codes of OpenID4VCI and OpenID4VP (spec/formats.md §9, §10): the
// error values those specifications define, used as they are.
const (
	ECodeInvalidRequest          Code = "invalid_request"                  // a protocol request is malformed
	ECodeInvalidCredentialReq    Code = "invalid_credential_request"       // a credential request is malformed
	ECodeInvalidGrant            Code = "invalid_grant"                    // unknown, used, expired or void pre-authorized code, or a wrong tx_code
	ECodeUnsupportedGrantType    Code = "unsupported_grant_type"           // a grant other than the pre-authorized code
	ECodeInvalidToken            Code = "invalid_token"                    // unknown, expired or spent access token
	ECodeInvalidProof            Code = "invalid_proof"                    // the key proof is missing, malformed, for another aud, or stale
	ECodeInvalidNonce            Code = "invalid_nonce"                    // the key proof's c_nonce is unknown, expired or used
	ECodeUnknownConfiguration    Code = "unknown_credential_configuration" // not a credential configuration this offer is for
	ECodeCredentialRequestDenied Code = "credential_request_denied"        // the issuance rules refused
	ECodeInvalidPresentation     Code = "invalid_presentation"             // a vp_token that fails verification
	ECodePresentationAnswered    Code = "presentation_answered"            // a response for a request already answered
)

// Codes the HTTP layer answers with before any use case runs.
const (
	ECodeRateLimited   Code = "rate_limited"   // too many requests from this address or client
	ECodeCSRF          Code = "csrf"           // a page request without this site's CSRF token or origin
	ECodeNotAcceptable Code = "not_acceptable" // no representation the Accept header allows
	ECodeNotReady      Code = "not_ready"      // the store is unreachable, no issuer key is active, or codes cannot be sent
)
