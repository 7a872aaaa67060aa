package authority

import (
	"context"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// maxStateReason bounds the reason an officer gives for a status change.
const maxStateReason = 500

// Revoke revokes e-permit cti for good, for the reason an officer gives; its
// status list entry becomes 1 (revoked) in the same transaction as the
// audit event "credential.revoke". It returns the updated record. Errors:
// invalid (no reason), not_found (no such credential), conflict (already
// revoked, or expired: an expired e-permit is refused by every verifier
// already and needs no list change).
func (a *Authority) Revoke(ctx context.Context, cti []byte, reason string) (*permit.Credential, error) {
	return a.changeState(ctx, cti, reason, permit.CredentialRevoked, "credential.revoke",
		permit.CredentialActive, permit.CredentialSuspended)
}

// Suspend suspends active e-permit cti (status list entry 2) until an
// officer reinstates it, auditing "credential.suspend". Errors as Revoke;
// conflict too when the e-permit is not active.
func (a *Authority) Suspend(ctx context.Context, cti []byte, reason string) (*permit.Credential, error) {
	return a.changeState(ctx, cti, reason, permit.CredentialSuspended, "credential.suspend", permit.CredentialActive)
}

// Reinstate makes suspended e-permit cti active again (status list entry 0),
// auditing "credential.reinstate". A revoked e-permit never comes back.
// Errors as Revoke; conflict when the e-permit is not suspended.
func (a *Authority) Reinstate(ctx context.Context, cti []byte, reason string) (*permit.Credential, error) {
	return a.changeState(ctx, cti, reason, permit.CredentialActive, "credential.reinstate", permit.CredentialSuspended)
}

// RevokeDocument revokes every current (active or suspended, unexpired)
// e-permit issued for travel permit (t, number), e.g. when an officer learns
// the card was misused. number may be printed with a 1999 card's renewal
// count. Errors: invalid, not_found (no such permit, or no current
// e-permit for it).
func (a *Authority) RevokeDocument(ctx context.Context, t permit.DocumentType, number, reason string) ([]permit.Credential, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	lifetime, _, err := permit.ParseTravelPermitNumber(t, number)
	if err != nil {
		return nil, err
	}
	var out []permit.Credential
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		id, err := tx.PersonIDByPermit(ctx, t, lifetime)
		if err != nil {
			return err
		}
		// The person's lock orders this after any issuance in flight, which
		// would otherwise add an e-permit the revocation misses.
		if err := tx.LockPerson(ctx, id); err != nil {
			return err
		}
		out, err = revokeForPermit(ctx, tx, t, lifetime, reason, nil)
		if err == nil && len(out) == 0 {
			err = permit.Errorf(permit.ECodeNotFound, "no current e-permit for %s permit %s", t, lifetime)
		}
		return err
	})
	return out, err
}

// revokeForPermit revokes, in tx, the current e-permits of travel permit
// (t, lifetime number), each with its audit event; details are added to
// each event. It returns the credentials as they were before.
func revokeForPermit(ctx context.Context, tx *store.Tx, t permit.DocumentType, number, reason string, details map[string]any) ([]permit.Credential, error) {
	cs, err := tx.CurrentCredentialsForPermit(ctx, t, number)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if err := tx.SetCredentialState(ctx, c.ID, permit.CredentialRevoked, reason); err != nil {
			return nil, err
		}
		d := map[string]any{"reason": reason, "from": c.State}
		for k, v := range details {
			d[k] = v
		}
		if err := tx.Audit(ctx, event(ctx, "credential.revoke", "cti:"+hex.EncodeToString(c.ID), d)); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", permit.Errorf(permit.ECodeInvalid, "a reason is required")
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxStateReason:
		return "", permit.Errorf(permit.ECodeInvalid, "the reason must be UTF-8 text of at most %d characters", maxStateReason)
	}
	return reason, permit.FreeTextError("reason", "reason", reason)
}

// changeState moves credential cti from one of the states in from to to,
// with its status list entry and audit event, in one transaction.
func (a *Authority) changeState(ctx context.Context, cti []byte, reason string, to permit.CredentialState,
	action string, from ...permit.CredentialState) (*permit.Credential, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	var out *permit.Credential
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		// Lock the holder, then read: an issuance in flight may have
		// superseded this e-permit meanwhile, and reinstating one it
		// superseded would leave two active. The person before the
		// credential, as issuance and imports lock them.
		person, err := tx.CredentialPerson(ctx, cti)
		if err != nil {
			return err
		}
		if err := tx.LockPerson(ctx, person); err != nil {
			return err
		}
		c, err := tx.Credential(ctx, cti)
		if err != nil {
			return err
		}
		if !tx.Now().Before(c.ExpiresAt) {
			return permit.Errorf(permit.ECodeConflict, "e-permit %x has expired; its status no longer matters", cti)
		}
		allowed := false
		for _, s := range from {
			allowed = allowed || c.State == s
		}
		if !allowed {
			return permit.Errorf(permit.ECodeConflict, "e-permit %x is %s", cti, c.State)
		}
		if err := tx.SetCredentialState(ctx, cti, to, reason); err != nil {
			return err
		}
		if err := tx.Audit(ctx, event(ctx, action, "cti:"+hex.EncodeToString(cti),
			map[string]any{"reason": reason, "from": c.State})); err != nil {
			return err
		}
		c.State, c.StateReason, c.StateAt = to, reason, tx.Now()
		out = c
		return nil
	})
	return out, err
}

// registryRevocation says why a registry change to a travel permit ends the
// credentials that rest on it, or "" when it does not: the card was
// reissued (the new card replaces what the e-permit stood in for), or its
// status changed: reported lost or cancelled, or found again, when the
// holder has the card back and no longer needs the e-permit. Revocation is
// final: nothing is reinstated by a later change.
func registryRevocation(old *permit.TravelPermit, tp permit.TravelPermit) string {
	switch {
	case old == nil:
		return ""
	case tp.Renewal > old.Renewal:
		return "registry: card reissued"
	case tp.Status != old.Status && tp.Status == permit.StatusValid:
		return "registry: permit found"
	case tp.Status != old.Status:
		return "registry: permit " + string(tp.Status)
	}
	return ""
}

// residenceRevocation is registryRevocation for the residence permit, on
// which linkage proofs rest as well.
func residenceRevocation(old, rp *permit.ResidencePermit) string {
	switch {
	case old == nil:
		return ""
	case rp == nil || rp.Number != old.Number:
		return "registry: residence permit replaced"
	case rp.Status != old.Status:
		return "registry: residence permit " + string(rp.Status)
	}
	return ""
}

// revokeLinkage revokes, in tx, a person's current linkage proofs, each
// with its audit event.
func revokeLinkage(ctx context.Context, tx *store.Tx, personID int64, reason string) error {
	cs, err := tx.Credentials(ctx, personID, permit.LinkageProofKind, true)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := tx.SetCredentialState(ctx, c.ID, permit.CredentialRevoked, reason); err != nil {
			return err
		}
		d := map[string]any{"reason": reason, "from": c.State, "cause": "registry"}
		if err := tx.Audit(ctx, event(ctx, "credential.revoke", "cti:"+hex.EncodeToString(c.ID), d)); err != nil {
			return err
		}
	}
	return nil
}

// Credential returns the credential with id cti as the store holds it:
// for an operator's check that what was acknowledged was recorded.
func (a *Authority) Credential(ctx context.Context, cti []byte) (*permit.Credential, error) {
	var c *permit.Credential
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		c, err = tx.Credential(ctx, cti)
		return err
	})
	return c, err
}
