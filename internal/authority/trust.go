package authority

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// The serving side of the root of trust (docs/keys.md): requests for
// document-signer certificates go out, certificates and signed trust lists
// come back from the offline root, and a key made under the root signs
// only once certified and listed.

// DefaultSigningPeriod is how long a key asks to sign for in its CSR.
const DefaultSigningPeriod = 90 * 24 * time.Hour

// TrustSkew is the clock skew allowed when checking certificates and lists
// on import (spec §4's).
const TrustSkew = 5 * time.Minute

// KeyCSR makes the PKCS#10 request for key kid (pending or active, not
// revoked), signed with the key itself, asking for a usage period from now
// for period. It changes nothing.
func (a *Authority) KeyCSR(ctx context.Context, kid string, period time.Duration) ([]byte, error) {
	if period <= 0 {
		period = DefaultSigningPeriod
	}
	var k *permit.IssuerKey
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		k, err = tx.IssuerKey(ctx, kid)
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.State != permit.KeyPending && k.State != permit.KeyActive {
		return nil, permit.Errorf(permit.ECodeConflict, "%s is %s: only a pending or the active key is certified", kid, k.State)
	}
	s, err := a.keys.Signer(k.Ref)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeNotReady, "the issuer key %s does not open: %v", kid, err)
	}
	now := a.now().Truncate(time.Second)
	// The base URL goes into the certificate's subjectAltName: an SD-JWT
	// VC verifier resolving the key from x5c matches it with the iss.
	var uris []string
	if a.cfg.PublicURL != "" {
		uris = []string{a.cfg.PublicURL}
	}
	return pki.NewCSR(s, now, now.Add(period), uris...)
}

// CertifyKey records the document-signer certificate cert (DER) of key
// kid. The first certificate also records the root (rootDER, which is
// then required); later ones must chain to the recorded root, or, in a
// root rollover, to the new root through crossDER, the cross certificate
// the recorded root issued for it (the store takes on the new root when
// it imports the new root's first list). The certificate must be the
// key's, not a CA, and valid for at least the longest credential past its
// usage period; it is audited key.certify (and root.set with the first).
func (a *Authority) CertifyKey(ctx context.Context, kid string, cert, rootDER, crossDER []byte) (*permit.IssuerKey, error) {
	ds, err := pki.ParseCertificate(cert)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "the certificate: %v", err)
	}
	var given *pki.Certificate
	if rootDER != nil {
		if given, err = parseRoot(rootDER); err != nil {
			return nil, err
		}
	}
	var k *permit.IssuerKey
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.LockTrust(ctx); err != nil {
			return err
		}
		root, isNew, err := a.rootFor(ctx, tx, given)
		if err != nil {
			return err
		}
		if k, err = tx.IssuerKey(ctx, kid); err != nil {
			return err
		}
		issuer := root
		if crossDER != nil {
			if issuer, err = checkCross(crossDER, root, tx.Now()); err != nil {
				return err
			}
		}
		if err := a.checkCertificate(k, ds, issuer, tx.Now()); err != nil {
			return err
		}
		if isNew {
			if err := tx.SetTrustRoot(ctx, root.KeyID, root.Raw); err != nil {
				return err
			}
			if err := tx.Audit(ctx, event(ctx, "root.set", "root:"+root.KeyID, map[string]any{
				"subject": root.Subject, "not_after": root.NotAfter.Unix(), "via": "key.certify"})); err != nil {
				return err
			}
		}
		if err := tx.CertifyIssuerKey(ctx, kid, ds.Raw, ds.NotBefore, ds.NotAfter, ds.UsageNotBefore, ds.UsageNotAfter); err != nil {
			return err
		}
		k.Certificate, k.CertNotBefore, k.CertNotAfter, k.UsageNotBefore, k.UsageNotAfter =
			ds.Raw, ds.NotBefore, ds.NotAfter, ds.UsageNotBefore, ds.UsageNotAfter
		return tx.Audit(ctx, event(ctx, "key.certify", "kid:"+kid, map[string]any{
			"serial": ds.Serial.Text(16), "root": issuer.KeyID, "not_before": ds.NotBefore.Unix(), "not_after": ds.NotAfter.Unix(),
			"usage_not_before": ds.UsageNotBefore.Unix(), "usage_not_after": ds.UsageNotAfter.Unix()}))
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("issuer key certified", "kid", kid, "not_after", ds.NotAfter)
	return k, nil
}

// parseRoot reads a root certificate (DER) and checks that it is a
// self-signed CA.
func parseRoot(der []byte) (*pki.Certificate, error) {
	root, err := pki.ParseCertificate(der)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "the root certificate: %v", err)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "the root certificate is not a self-signed CA: %v", err)
	}
	return root, nil
}

// checkCross reads a cross certificate and checks that root issued it for
// a CA and that it is valid at now.
func checkCross(der []byte, root *pki.Certificate, now time.Time) (*pki.Certificate, error) {
	x, err := pki.ParseCertificate(der)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "the cross certificate: %v", err)
	}
	switch {
	case !x.IsCA:
		return nil, permit.Errorf(permit.ECodeInvalid, "the cross certificate is not a CA certificate")
	case x.CheckSignatureFrom(root) != nil:
		return nil, permit.Errorf(permit.ECodeInvalid, "the cross certificate was not issued by the recorded root %s: %v", root.KeyID, x.CheckSignatureFrom(root))
	case !x.ValidAt(now, TrustSkew):
		return nil, permit.Errorf(permit.ECodeInvalid, "the cross certificate is valid %s to %s only", x.NotBefore.Format(time.RFC3339), x.NotAfter.Format(time.RFC3339))
	}
	return x, nil
}

// rootFor returns the root to check a certificate against: the recorded
// one, or given when none is recorded yet (isNew). A given root that is not
// the recorded one is a conflict: a new root arrives through a list
// carrying its cross certificate.
func (a *Authority) rootFor(ctx context.Context, tx *store.Tx, given *pki.Certificate) (root *pki.Certificate, isNew bool, err error) {
	cur, err := tx.CurrentTrustRoot(ctx)
	switch {
	case permit.ErrorCode(err) == permit.ECodeNotFound && given == nil:
		return nil, false, permit.Errorf(permit.ECodeInvalid, "no root of trust is recorded yet: give the root certificate (--root root.pem from `epermit root export`)")
	case permit.ErrorCode(err) == permit.ECodeNotFound:
		return given, true, nil
	case err != nil:
		return nil, false, err
	}
	if given != nil && given.KeyID != cur.Kid {
		return nil, false, permit.Errorf(permit.ECodeConflict, "the store trusts root %s, not %s: a new root is taken on through a trust list carrying its cross certificate (`epermit root rollover`)", cur.Kid, given.KeyID)
	}
	root, err = pki.ParseCertificate(cur.Certificate)
	return root, false, err
}

// checkCertificate checks that ds is key k's DS certificate from root and
// covers what the key will sign.
func (a *Authority) checkCertificate(k *permit.IssuerKey, ds, root *pki.Certificate, now time.Time) error {
	pub, err := parseSPKI(k.PublicKey)
	if err != nil {
		return err
	}
	longest := a.LongestCredential()
	switch {
	case k.State != permit.KeyPending && k.State != permit.KeyActive:
		return permit.Errorf(permit.ECodeConflict, "%s is %s: only a pending or the active key is certified", k.Kid, k.State)
	case ds.IsCA:
		return permit.Errorf(permit.ECodeInvalid, "the certificate is a CA certificate, not a document signer's")
	case ds.KeyID != k.Kid || !ds.PublicKey.Equal(pub):
		return permit.Errorf(permit.ECodeInvalid, "the certificate is for key %s, not %s", ds.KeyID, k.Kid)
	case ds.CheckSignatureFrom(root) != nil:
		return permit.Errorf(permit.ECodeInvalid, "the certificate was not issued by the root %s (%q): %v", root.KeyID, root.Subject, ds.CheckSignatureFrom(root))
	case ds.UsageNotAfter.IsZero():
		return permit.Errorf(permit.ECodeInvalid, "the certificate has no privateKeyUsagePeriod: make it with `epermit root sign` from `epermit keys csr`")
	case !now.Before(ds.NotAfter.Add(TrustSkew)) || !now.Before(ds.UsageNotAfter):
		return permit.Errorf(permit.ECodeInvalid, "the certificate's usage period ended at %s", ds.UsageNotAfter.Format(time.RFC3339))
	case ds.NotAfter.Before(ds.UsageNotAfter.Add(longest)):
		return permit.Errorf(permit.ECodeInvalid, "the certificate ends at %s, before its usage period's end plus the longest credential the authority signs (%v): sign it with --document-validity %s or more",
			ds.NotAfter.Format(time.RFC3339), longest, days(longest))
	}
	return nil
}

// days writes d as whole days for a --document-validity flag, rounded up.
func days(d time.Duration) string {
	return fmt.Sprintf("%dd", (d+24*time.Hour-1)/(24*time.Hour))
}

// ActivateKey makes the pending key kid the active one, retiring the
// active key (which stays published until what it signed expires). It is
// refused unless the key is certified, in its usage period, and listed in
// the newest imported trust list, so that gates know it before it signs.
// Audited key.activate.
func (a *Authority) ActivateKey(ctx context.Context, kid string) (*permit.IssuerKey, error) {
	var k *permit.IssuerKey
	var old string
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.LockTrust(ctx); err != nil {
			return err
		}
		var err error
		if k, err = tx.IssuerKey(ctx, kid); err != nil {
			return err
		}
		if k.State != permit.KeyPending {
			return permit.Errorf(permit.ECodeConflict, "%s is %s, not pending: only a key made by `epermit keys rotate` under a root is activated", kid, k.State)
		}
		if err := permit.CanSign(k, true, tx.Now(), tx.Now().Add(a.LongestCredential())); err != nil {
			return permit.Errorf(permit.ECodeConflict, "%s cannot sign yet: %v", kid, err)
		}
		l, err := tx.LatestTrustList(ctx)
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			return permit.Errorf(permit.ECodeConflict, "no signed trust list is imported: gates would not know %s (`epermit trust-list request`, `root sign-list`, `trust-list import`)", kid)
		} else if err != nil {
			return err
		}
		parsed, err := pki.ParseTrustList([]byte(l.Document))
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(parsed.Keys, func(lk pki.ListedKey) bool {
			return lk.JWK.Kid == kid && bytes.Equal(lk.Certificate.Raw, k.Certificate)
		}) {
			return permit.Errorf(permit.ECodeConflict, "the newest imported trust list (seq %d) does not list %s with its certificate: request, sign and import a new one first", l.Seq, kid)
		}
		if cur, err := tx.ActiveIssuerKey(ctx); err == nil {
			old = cur.Kid
		} else if permit.ErrorCode(err) != permit.ECodeNotFound {
			return err
		}
		if err := tx.ActivateIssuerKey(ctx, kid); err != nil {
			return err
		}
		k.State = permit.KeyActive
		return tx.Audit(ctx, event(ctx, "key.activate", "kid:"+kid, map[string]any{"retired": old, "trust_list": l.Seq}))
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("issuer key activated", "kid", kid, "retired", old)
	return k, nil
}

// TrustListRequest is what the serving side hands the offline root to
// sign as a trust list (docs/keys.md): the authority's base URL, the DS
// certificates of every published key and of the pending one, and the
// revoked keys. It is not a wire format for verifiers.
type TrustListRequest struct {
	Type         string             `json:"type"` // TrustListRequestType
	Issuer       string             `json:"iss"`
	Certificates []string           `json:"certificates"` // standard base64 DER
	Revoked      []TrustListRevoked `json:"revoked"`
	Uncertified  []string           `json:"uncertified,omitempty"` // published kids left out: no certificate
}

// TrustListRevoked is a revoked key in a TrustListRequest.
type TrustListRevoked struct {
	Kid       string `json:"kid"`
	RevokedAt int64  `json:"revoked_at"`
}

// TrustListRequestType marks a trust list request file.
const TrustListRequestType = "epermit-trust-list-request"

// RequestTrustList gathers what the root signs into the next list. A key
// published without a certificate (one retired before the root was set
// up) cannot be in the list: it is named in Uncertified, so the operator
// knows gates holding the list will refuse what it signed.
func (a *Authority) RequestTrustList(ctx context.Context) (*TrustListRequest, error) {
	r := &TrustListRequest{Type: TrustListRequestType, Issuer: a.cfg.PublicURL, Certificates: []string{}, Revoked: []TrustListRevoked{}}
	ks, err := a.Keys(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	for _, k := range ks {
		switch {
		case k.State == permit.KeyRevoked:
			r.Revoked = append(r.Revoked, TrustListRevoked{Kid: k.Kid, RevokedAt: k.RevokedAt.Unix()})
		case k.State != permit.KeyPending && !Published(k, now):
		case k.Certificate == nil:
			if k.State != permit.KeyPending {
				r.Uncertified = append(r.Uncertified, k.Kid)
			}
		default:
			r.Certificates = append(r.Certificates, base64.StdEncoding.EncodeToString(k.Certificate))
		}
	}
	if len(r.Certificates) == 0 {
		return nil, permit.Errorf(permit.ECodeConflict, "no certified key to list: certify the active key first (`epermit keys csr`, `root sign`, `keys certify`)")
	}
	return r, nil
}

// ParseTrustListRequest reads a request file strictly.
func ParseTrustListRequest(data []byte) (*TrustListRequest, error) {
	var r TrustListRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "not a trust list request: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, permit.Errorf(permit.ECodeInvalid, "not a trust list request: data after the object")
	}
	if r.Type != TrustListRequestType || r.Issuer == "" {
		return nil, permit.Errorf(permit.ECodeInvalid, "not a trust list request (type %q, iss %q)", r.Type, r.Issuer)
	}
	return &r, nil
}

// ImportTrustList takes a trust list the root signed: it must verify under
// the recorded root (or a cross certificate the root issued: the store
// then takes on the new root, audited root.set), be for this authority,
// current, and have a sequence number above the newest imported (the same
// list again changes nothing; another list with that number, or a lower
// one, is a conflict). newRoot, optional, is the new root's self-signed
// certificate to record instead of its cross certificate in a rollover.
// Audited trust_list.import. It returns the record and whether it was new.
func (a *Authority) ImportTrustList(ctx context.Context, doc []byte, newRoot []byte) (*store.TrustListRecord, bool, error) {
	l, err := pki.ParseTrustList(bytes.TrimSpace(doc))
	if err != nil {
		return nil, false, permit.Errorf(permit.ECodeInvalid, "%v", err)
	}
	doc = bytes.TrimSpace(doc)
	var rec *store.TrustListRecord
	imported := false
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.LockTrust(ctx); err != nil {
			return err
		}
		now := tx.Now()
		cur, err := tx.CurrentTrustRoot(ctx)
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			return permit.Errorf(permit.ECodeConflict, "no root of trust is recorded: certify a key first (`epermit keys certify --root`)")
		} else if err != nil {
			return err
		}
		anchor, err := pki.ParseCertificate(cur.Certificate)
		if err != nil {
			return err
		}
		signer, err := l.Verify(now, TrustSkew, anchor)
		if err != nil {
			return permit.Errorf(permit.ECodeInvalid, "%v", err)
		}
		switch {
		case l.Issuer != a.cfg.PublicURL:
			return permit.Errorf(permit.ECodeInvalid, "the list is for %q, not this authority (%q)", l.Issuer, a.cfg.PublicURL)
		case l.IssuedAt.After(now.Add(TrustSkew)):
			return permit.Errorf(permit.ECodeInvalid, "the list is issued at %s, in the future", l.IssuedAt.Format(time.RFC3339))
		case !now.Before(l.Expiry):
			return permit.Errorf(permit.ECodeInvalid, "the list expired at %s: have the root sign a new one", l.Expiry.Format(time.RFC3339))
		}
		held, err := tx.LatestTrustList(ctx)
		switch {
		case permit.ErrorCode(err) == permit.ECodeNotFound:
		case err != nil:
			return err
		case int64(l.Seq) == held.Seq && held.Document == string(doc):
			rec = held
			return nil // the same list again
		case int64(l.Seq) <= held.Seq:
			return permit.Errorf(permit.ECodeConflict, "a rollback: the list's sequence number %d is not above %d, the newest imported", l.Seq, held.Seq)
		}
		if signer.KeyID != cur.Kid {
			adopt := signer
			if newRoot != nil {
				r, err := parseRoot(newRoot)
				if err != nil {
					return err
				}
				if r.KeyID != signer.KeyID || !bytes.Equal(r.RawSubject, signer.RawSubject) {
					return permit.Errorf(permit.ECodeInvalid, "--root is root %s, but the list was signed by %s", r.KeyID, signer.KeyID)
				}
				adopt = r
			}
			if err := tx.SetTrustRoot(ctx, adopt.KeyID, adopt.Raw); err != nil {
				return err
			}
			if err := tx.Audit(ctx, event(ctx, "root.set", "root:"+adopt.KeyID, map[string]any{
				"subject": adopt.Subject, "not_after": adopt.NotAfter.Unix(), "previous": cur.Kid, "via": "trust_list.import"})); err != nil {
				return err
			}
		}
		rec = &store.TrustListRecord{Seq: int64(l.Seq), Document: string(doc), IssuedAt: l.IssuedAt, ExpiresAt: l.Expiry}
		if err := tx.AddTrustList(ctx, rec); err != nil {
			return err
		}
		imported = true
		kids := make([]string, len(l.Keys))
		for i, k := range l.Keys {
			kids[i] = k.JWK.Kid
		}
		revoked := make([]string, len(l.Revoked))
		for i, r := range l.Revoked {
			revoked[i] = r.Kid
		}
		return tx.Audit(ctx, event(ctx, "trust_list.import", fmt.Sprintf("trust_list:%d", l.Seq), map[string]any{
			"iat": l.IssuedAt.Unix(), "exp": l.Expiry.Unix(), "keys": kids, "revoked": revoked, "root": signer.KeyID}))
	})
	if err != nil {
		return nil, false, err
	}
	if imported {
		a.log.Info("signed trust list imported", "seq", rec.Seq, "exp", rec.ExpiresAt)
	}
	return rec, imported, nil
}

// SignedTrustList returns the newest imported list, for
// /.well-known/epermit-trust-list; not_found when none.
func (a *Authority) SignedTrustList(ctx context.Context) (*store.TrustListRecord, error) {
	var l *store.TrustListRecord
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		l, err = tx.LatestTrustList(ctx)
		return err
	})
	return l, err
}

// TrustRoot returns the current root certificate (DER), for
// /.well-known/epermit-root.pem; not_found when none.
func (a *Authority) TrustRoot(ctx context.Context) ([]byte, error) {
	var r *store.TrustRoot
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		r, err = tx.CurrentTrustRoot(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r.Certificate, nil
}

// TrustRenewal is how early TrustWarnings warns of an end.
const TrustRenewal = 7 * 24 * time.Hour

// TrustWarnings says what of the root of trust ends within TrustRenewal
// (or has ended): the newest signed list, after which gates refuse every
// credential, and the active key's usage period, after which it signs
// nothing. Nothing without a root. The server logs them at start.
func (a *Authority) TrustWarnings(ctx context.Context) ([]string, error) {
	var out []string
	now := a.now()
	err := a.db.View(ctx, func(tx *store.Tx) error {
		k, rooted, err := tx.SigningIssuerKey(ctx)
		if permit.ErrorCode(err) == permit.ECodeNotFound || (err == nil && !rooted) {
			return nil
		} else if err != nil {
			return err
		}
		l, err := tx.LatestTrustList(ctx)
		switch {
		case permit.ErrorCode(err) == permit.ECodeNotFound:
			out = append(out, "no signed trust list is imported: gates configured with the root have none to take (`epermit trust-list request`, `root sign-list`, `trust-list import`)")
		case err != nil:
			return err
		case !now.Before(l.ExpiresAt.Add(-TrustRenewal)):
			out = append(out, fmt.Sprintf("the signed trust list %d expires at %s: gates then refuse every credential; sign and import the next one", l.Seq, l.ExpiresAt.Format(time.RFC3339)))
		}
		if k.Certificate != nil && !now.Before(k.UsageNotAfter.Add(-TrustRenewal)) {
			out = append(out, fmt.Sprintf("the active issuer key %s signs until %s only: renew its certificate or rotate", k.Kid, k.UsageNotAfter.Format(time.RFC3339)))
		}
		return nil
	})
	return out, err
}
