package authority

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// NonceTTL is how long a proof-of-possession challenge stays valid.
const NonceTTL = 5 * time.Minute

// Session returns the applicant session behind a bearer token, or an
// unauthorized error.
func (a *Authority) Session(ctx context.Context, token string) (*permit.ApplicantSession, error) {
	var s *permit.ApplicantSession
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		s, err = a.session(ctx, tx, token)
		return err
	})
	return s, err
}

func (a *Authority) session(ctx context.Context, tx *store.Tx, token string) (*permit.ApplicantSession, error) {
	s, err := tx.ApplicantSession(ctx, hashSecret(token))
	if permit.ErrorCode(err) == permit.ECodeNotFound {
		return nil, permit.Errorf(permit.ECodeUnauthorized, "sign in again: the session is unknown or has expired")
	}
	return s, err
}

// SignOut ends an applicant session, so that its token no longer works
// anywhere it was copied to. An unknown or expired token is no error.
func (a *Authority) SignOut(ctx context.Context, token string) error {
	return a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if permit.ErrorCode(err) == permit.ECodeUnauthorized {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteApplicantSession(ctx, s.TokenHash); err != nil {
			return err
		}
		ctx := WithActor(ctx, "holder:"+s.DocType.String()+":"+s.DocNumber)
		return tx.Audit(ctx, event(ctx, "applicant.signout", s.DocType.String()+":"+s.DocNumber, nil))
	})
}

// Nonce gives the applicant's device a fresh challenge to sign with its key.
func (a *Authority) Nonce(ctx context.Context, token string) (string, time.Time, error) {
	nonce := randomText(24)
	var exp time.Time
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		exp = tx.Now().Add(NonceTTL)
		return tx.SetNonce(ctx, s.TokenHash, nonce, exp)
	})
	return nonce, exp, err
}

// ApplyRequest is an online application from a proven applicant's device.
type ApplyRequest struct {
	// Kind is what is applied for: TemporaryEPermit (the default, for 0)
	// or, when the policy enables it, ElectronicPermit.
	Kind      permit.Kind
	Reason    permit.Reason
	HolderKey *ecdsa.PublicKey
	// Signature is the device key's ES256 signature (r||s, 64 bytes, as
	// WebCrypto makes it) over the UTF-8 bytes of the current nonce.
	Signature      []byte
	IdempotencyKey string // optional; a retry with the same key gets the same credential
}

// Apply issues a temporary e-permit to the applicant of the session, under
// the policy's rules. A retried request with the same idempotency key
// returns the credential issued the first time.
func (a *Authority) Apply(ctx context.Context, token string, req ApplyRequest) (*permit.Credential, error) {
	if len(req.IdempotencyKey) > 128 {
		return nil, permit.Errorf(permit.ECodeInvalid, "Idempotency-Key is longer than 128 characters")
	}
	var out *permit.Credential
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		ctx := WithActor(ctx, "holder:"+s.DocType.String()+":"+s.DocNumber)
		// Lock first: two retries of one request must not both issue.
		if err := tx.LockPerson(ctx, s.PersonID); err != nil {
			return err
		}
		idem := ""
		if req.IdempotencyKey != "" {
			// Scoped to the person, so one applicant's key never reveals another's credential.
			idem = fmt.Sprintf("%d:%s", s.PersonID, req.IdempotencyKey)
			c, err := tx.CredentialByIdempotencyKey(ctx, idem)
			if err == nil {
				out = c
				return nil
			} else if permit.ErrorCode(err) != permit.ECodeNotFound {
				return err
			}
		}
		if err := checkPossession(s, req, tx.Now()); err != nil {
			return err
		}
		if err := consumeNonce(ctx, tx, s); err != nil {
			return err
		}
		p, tp, err := tx.PermitHolder(ctx, s.PersonID, s.DocType, s.DocNumber)
		if err != nil {
			return err
		}
		out, err = a.issue(ctx, tx, issueRequest{person: p, permit: tp, kind: req.Kind,
			reason: req.Reason, holder: req.HolderKey, channel: permit.ChannelOnline, idempotencyKey: idem})
		return err
	})
	return out, err
}

func checkPossession(s *permit.ApplicantSession, req ApplyRequest, now time.Time) error {
	if req.HolderKey == nil || req.HolderKey.Curve != elliptic.P256() {
		return permit.Errorf(permit.ECodeInvalid, "the device key must be a P-256 public key")
	}
	if s.Nonce == "" || !now.Before(s.NonceExpiresAt) {
		return permit.Errorf(permit.ECodeProofInvalid, "no valid challenge: ask for a new nonce")
	}
	if len(req.Signature) != 64 {
		return permit.Errorf(permit.ECodeProofInvalid, "the signature must be 64 bytes (r||s)")
	}
	digest := sha256.Sum256([]byte(s.Nonce))
	r, sv := new(big.Int).SetBytes(req.Signature[:32]), new(big.Int).SetBytes(req.Signature[32:])
	if !ecdsa.Verify(req.HolderKey, digest[:], r, sv) {
		return permit.Errorf(permit.ECodeProofInvalid, "the device key did not sign the challenge")
	}
	return nil
}

// consumeNonce uses up the challenge checkPossession accepted. The session
// was read without a lock, so parallel copies of one signed request may all
// have seen the nonce: the conditional clearing lets exactly one of them
// through, and the others fail as if the nonce had never been there.
func consumeNonce(ctx context.Context, tx *store.Tx, s *permit.ApplicantSession) error {
	ok, err := tx.ConsumeNonce(ctx, s.TokenHash, s.Nonce)
	if err != nil {
		return err
	}
	if !ok {
		return permit.Errorf(permit.ECodeProofInvalid, "no valid challenge: ask for a new nonce")
	}
	return nil
}

// counterPermit checks what an officer enters at the counter: the holder's
// device key and the printed permit number, whose lifetime number it
// returns.
func counterPermit(t permit.DocumentType, number string, holder *ecdsa.PublicKey) (string, error) {
	if holder == nil || holder.Curve != elliptic.P256() {
		return "", permit.Errorf(permit.ECodeInvalid, "the holder key must be a P-256 public key")
	}
	lifetime, _, err := permit.ParseTravelPermitNumber(t, number)
	return lifetime, err
}

// IssueAtCounter issues a temporary e-permit at an exit-entry office, to the
// holder of a permit the officer has checked in person, for a device key the
// holder presents. The same rules and audit apply as online.
func (a *Authority) IssueAtCounter(ctx context.Context, t permit.DocumentType, number string, reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error) {
	return a.IssueKindAtCounter(ctx, permit.TemporaryEPermit, t, number, reason, holder)
}

// IssueKindAtCounter is IssueAtCounter for a credential of kind: the
// long-lived ElectronicPermit too, when the policy issues it (it takes no
// reason).
func (a *Authority) IssueKindAtCounter(ctx context.Context, kind permit.Kind, t permit.DocumentType, number string, reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error) {
	lifetime, err := counterPermit(t, number, holder)
	if err != nil {
		return nil, err
	}
	var out *permit.Credential
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		p, tp, err := tx.LockPermitHolder(ctx, t, lifetime)
		if err != nil {
			return err
		}
		out, err = a.issue(ctx, tx, issueRequest{person: p, permit: tp, kind: kind, reason: reason,
			holder: holder, channel: permit.ChannelCounter})
		return err
	})
	return out, err
}

type issueRequest struct {
	kind           permit.Kind          // 0 for TemporaryEPermit
	person         *permit.Person       // read after the person's lock was taken
	permit         *permit.TravelPermit // the person's permit the e-permit is for
	reason         permit.Reason
	holder         *ecdsa.PublicKey
	channel        permit.Channel
	idempotencyKey string
}

// issue applies the policy and, if it grants, records the application,
// signs and records the credential with a fresh status entry, revokes what
// it supersedes and audits it all, in the caller's transaction, which must
// hold the person's lock and have read the person and permit under it.
func (a *Authority) issue(ctx context.Context, tx *store.Tx, r issueRequest) (*permit.Credential, error) {
	now := tx.Now().Truncate(time.Second) // CWT times are whole seconds
	p, tp := r.person, r.permit
	kind := r.kind
	if kind == 0 {
		kind = permit.TemporaryEPermit
	}
	n, err := tx.CountApplications(ctx, p.ID, kind, permit.Month(now))
	if err != nil {
		return nil, err
	}
	current, err := tx.Credentials(ctx, p.ID, kind, true)
	if err != nil {
		return nil, err
	}
	grant, err := a.cfg.Policy.Decide(permit.Request{Kind: kind, Reason: r.reason, Permit: *tp, Now: now,
		Applications: n, Current: current})
	if err != nil {
		return nil, err
	}

	app := &permit.Application{PersonID: p.ID, Kind: kind, DocumentType: tp.Type, DocumentNumber: tp.Number,
		Reason: int(r.reason), Month: grant.Month, CreatedAt: now, Channel: r.channel, IdempotencyKey: r.idempotencyKey}
	if err := tx.AddApplication(ctx, app); err != nil {
		return nil, err
	}
	key, signer, err := a.activeSigner(ctx, tx, grant.ExpiresAt.Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	kid, err := base64.RawURLEncoding.DecodeString(key.Kid) // the record's kid, not a fresh hash of the key
	if err != nil {
		return nil, err
	}
	list, idx, err := tx.AllocateStatus(ctx, a.cfg.StatusListSize)
	if err != nil {
		return nil, err
	}
	var cti [16]byte
	rand.Read(cti[:])
	claims := credential.Claims{
		Issuer: a.cfg.IssuerID, IssuedAt: now, NotBefore: grant.NotBefore, Expiry: grant.ExpiresAt.Truncate(time.Second),
		ID: cti, Holder: r.holder,
		Status: credential.StatusRef{Idx: uint64(idx), URI: a.StatusListURI(list)},
		Permit: credential.Permit{Kind: WireKind(kind), DocumentType: WireDocumentType(tp.Type),
			DocumentNumber: tp.Number, Name: p.Name, LatinName: p.LatinName, Sex: WireSex(p.Sex),
			BirthDate: p.BirthDate.String(), Scopes: WireScopes(grant.Scopes), PortraitDigest: credential.PortraitDigest(p.Portrait),
			Reason: WireReason(r.reason)},
	}
	token, err := credential.SignEPermit(claims, kid, signer)
	if err != nil {
		return nil, err
	}
	if n := credential.QRTextLen(token); n > credential.MaxQRText {
		// Issued all the same: refusing would leave a person with a long
		// name without a permit, and gates read the larger QR (version 17).
		// The operator's status URL is the lever; see QRRoom.
		a.log.Warn("an e-permit's gate QR is over spec §3's limit", "qr_text", n, "max", credential.MaxQRText,
			"status_url", a.cfg.StatusURL)
	}
	holderDER, err := x509.MarshalPKIXPublicKey(r.holder)
	if err != nil {
		return nil, err
	}
	c := &permit.Credential{ID: cti[:], Kind: kind, PersonID: p.ID, ApplicationID: app.ID, KeyID: key.Kid,
		IssuedAt: now, NotBefore: claims.NotBefore, ExpiresAt: claims.Expiry, HolderKey: holderDER,
		StatusList: list, StatusIndex: idx, State: permit.CredentialActive, Token: token}
	if err := tx.AddCredential(ctx, c); err != nil {
		return nil, err
	}
	ctiHex := hex.EncodeToString(cti[:])
	for _, old := range grant.Supersede {
		if err := tx.SetCredentialState(ctx, old, permit.CredentialRevoked, "superseded by "+ctiHex); err != nil {
			return nil, err
		}
		if err := tx.Audit(ctx, event(ctx, "credential.supersede", "cti:"+hex.EncodeToString(old),
			map[string]any{"by": ctiHex})); err != nil {
			return nil, err
		}
	}
	err = tx.Audit(ctx, event(ctx, "credential.issue", "cti:"+ctiHex, map[string]any{
		"kind": kind, "document": tp.Type.String() + ":" + tp.Number, "channel": r.channel, "reason": r.reason.String(),
		"kid": key.Kid, "exp": c.ExpiresAt.Unix(), "status": fmt.Sprintf("%d/%d", list, idx)}))
	return c, err
}

// StatusListURI is where status list n is published.
func (a *Authority) StatusListURI(n int64) string { return fmt.Sprintf("%s/s/%d", a.cfg.StatusURL, n) }

// MyCredentials lists the applicant's e-permits (temporary, and
// electronic permits if any were issued), newest first, current or not.
func (a *Authority) MyCredentials(ctx context.Context, token string) ([]permit.Credential, error) {
	return a.mine(ctx, token, permit.TemporaryEPermit, permit.ElectronicPermit)
}

// mine lists the session holder's credentials of the kinds, newest first.
func (a *Authority) mine(ctx context.Context, token string, kinds ...permit.Kind) ([]permit.Credential, error) {
	var out []permit.Credential
	err := a.db.View(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		for _, kind := range kinds {
			cs, err := tx.Credentials(ctx, s.PersonID, kind, false)
			if err != nil {
				return err
			}
			out = append(out, cs...)
		}
		return nil
	})
	slices.SortStableFunc(out, func(x, y permit.Credential) int { return y.IssuedAt.Compare(x.IssuedAt) })
	return out, err
}

// CancelMine lets holders cancel their own e-permit, for instance because
// they found their card. The credential is revoked at once.
func (a *Authority) CancelMine(ctx context.Context, token string, cti []byte) error {
	return a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		c, err := tx.Credential(ctx, cti)
		if err != nil || c.PersonID != s.PersonID {
			// Someone else's credential looks the same as none at all.
			return permit.Errorf(permit.ECodeNotFound, "no such e-permit")
		}
		if c.State == permit.CredentialRevoked {
			return permit.Errorf(permit.ECodeConflict, "this e-permit is already revoked")
		}
		if err := tx.SetCredentialState(ctx, cti, permit.CredentialRevoked, "cancelled by holder"); err != nil {
			return err
		}
		ctx := WithActor(ctx, "holder:"+s.DocType.String()+":"+s.DocNumber)
		return tx.Audit(ctx, event(ctx, "credential.cancel", "cti:"+hex.EncodeToString(cti), nil))
	})
}
