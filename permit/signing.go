package permit

import "time"

// CanSign is the signing rule under a root of trust (docs/keys.md): key k
// may sign, at now, something that expires at exp (an e-permit, a status
// list token, a linkage proof, a request object) only while it holds a
// document-signer certificate, now is within the certificate's validity
// and its usage period (privateKeyUsagePeriod; the validity when the
// certificate has none), and exp is no later than the certificate's
// notAfter, so that a gate checking the credential against the certificate
// never finds it outliving its key's certificate. Without a root (rooted
// false) every active key signs, as before issue 19.
//
// A refusal is ECodeNotReady: the operator's problem (renew the
// certificate, rotate), not the caller's; its message says what to do.
func CanSign(k *IssuerKey, rooted bool, now, exp time.Time) error {
	if !rooted {
		return nil
	}
	if len(k.Certificate) == 0 || k.CertNotAfter.IsZero() {
		return Errorf(ECodeNotReady, "the active issuer key %s has no certificate from the root: run `epermit keys csr --kid %s`, have the root sign it and import it with `epermit keys certify`", k.Kid, k.Kid)
	}
	from, until := k.UsageNotBefore, k.UsageNotAfter
	if from.IsZero() || from.Before(k.CertNotBefore) {
		from = k.CertNotBefore
	}
	if until.IsZero() || until.After(k.CertNotAfter) {
		until = k.CertNotAfter
	}
	switch {
	case now.Before(from):
		return Errorf(ECodeNotReady, "the active issuer key %s may sign from %s only (its certificate's usage period)", k.Kid, stampUTC(from))
	case !now.Before(until):
		return Errorf(ECodeNotReady, "the active issuer key %s stopped signing at %s, the end of its certificate's usage period: rotate to a certified key (`epermit keys rotate`, then `keys activate`)", k.Kid, stampUTC(until))
	case exp.After(k.CertNotAfter):
		return Errorf(ECodeNotReady, "what the active issuer key %s would sign now expires at %s, after its certificate (valid until %s): rotate to a newly certified key, or have the root certify this one with a longer --document-validity", k.Kid, stampUTC(exp), stampUTC(k.CertNotAfter))
	}
	return nil
}

func stampUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }
