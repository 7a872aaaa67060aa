package authority

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Officer console sessions. An officer signs in with their name and
// personal officer key (`epermit officer add`); the browser then holds a
// random session token, never the key, so a stolen cookie dies with the
// session while the key stays usable only where the officer typed it.

// Session limits of the officer console.
const (
	// OfficerIdleTimeout ends a session nobody has used for this long, so
	// an unattended counter screen does not stay signed in.
	OfficerIdleTimeout = 30 * time.Minute
	// OfficerSessionLifetime ends every session this long after sign-in,
	// roughly one shift, however active.
	OfficerSessionLifetime = 8 * time.Hour
)

// Sign-in limits: failed sign-ins are counted per officer name and per
// client address over signInWindow. Per name stops guessing one officer's
// key from many places; per address stops one place trying many names.
const (
	signInWindow      = 15 * time.Minute
	maxSignInFailures = 5
	maxAddrFailures   = 20
)

// OfficerSignIn checks an officer's name and personal key and, if both
// match an enabled officer, starts a console session and returns its token
// (shown to nobody but the browser's cookie). Every failure is the same
// `unauthorized`, audited as officer.signin_failed; too many failures for
// the name or from the address give too_many_attempts without checking
// the key. from is the client address, used only for the limit and audit.
//
// It is one transaction: the counts lock their keys (see CountAttempts) and
// the key's client row is locked as it is read, so parallel guesses cannot
// all pass the limit, and a key rotation cannot be outlived by a session
// opened with the old key.
func (a *Authority) OfficerSignIn(ctx context.Context, name, key, from string) (string, *permit.Client, error) {
	name = strings.TrimSpace(name)
	if len([]rune(name)) > 100 {
		name = string([]rune(name)[:100])
	}
	// The name as typed may be anything, an officer's pasted key even: it is
	// counted by its hash and audited only if it names an officer.
	// Names compare case-insensitively, so "wong" and "Wong" share a limit.
	nameKey, addrKey := "officer-signin:name:"+hex.EncodeToString(hashSecret(strings.ToLower(name))), "officer-signin:addr:"+from
	token := randomText(32)
	var c *permit.Client
	var refused error
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		c, refused = nil, nil // a retried transaction starts over
		since := tx.Now().Add(-signInWindow)
		nName, err := tx.CountAttempts(ctx, nameKey, since)
		if err != nil {
			return err
		}
		nAddr, err := tx.CountAttempts(ctx, addrKey, since)
		if err != nil {
			return err
		}
		if nName >= maxSignInFailures || nAddr >= maxAddrFailures {
			refused = permit.Errorf(permit.ECodeTooMany, "too many failed sign-ins; try again in %d minutes", int(signInWindow.Minutes()))
		} else if c, err = clientByKey(ctx, tx, permit.RoleOfficer, key); permit.ErrorCode(err) == permit.ECodeUnauthorized || err == nil && !strings.EqualFold(c.Name, name) {
			c, refused = nil, permit.Errorf(permit.ECodeUnauthorized, "a valid officer name and key are required")
		} else if err != nil {
			return err
		}
		if refused != nil {
			return a.signInFailed(ctx, tx, name, from, nameKey, addrKey, permit.ErrorCode(refused))
		}
		if err := tx.DeleteOfficerSessionsBefore(ctx, tx.Now()); err != nil {
			return err
		}
		if err := tx.AddOfficerSession(ctx, hashSecret(token), c.ID, tx.Now().Add(OfficerSessionLifetime)); err != nil {
			return err
		}
		return tx.Audit(ctx, event(WithActor(ctx, "officer:"+c.Name), "officer.signin", "officer:"+c.Name,
			map[string]string{"from": from, "kind": c.Category}))
	})
	switch {
	case err != nil:
		return "", nil, err
	case refused != nil:
		return "", nil, refused
	}
	return token, c, nil
}

// signInFailed records a failed sign-in as attempts under both limits, and
// audits it under the officer's name if it is one.
func (a *Authority) signInFailed(ctx context.Context, tx *store.Tx, name, from, nameKey, addrKey string, why permit.Code) error {
	if err := tx.AddAttempt(ctx, nameKey); err != nil {
		return err
	}
	if err := tx.AddAttempt(ctx, addrKey); err != nil {
		return err
	}
	subject := "officer:?" // no officer of that name
	if _, err := tx.ClientByName(ctx, permit.RoleOfficer, name); err == nil {
		subject = "officer:" + name
	} else if permit.ErrorCode(err) != permit.ECodeNotFound {
		return err
	}
	// The actor is the caller's: nobody is known to be signed in.
	return tx.Audit(ctx, event(ctx, "officer.signin_failed", subject, map[string]string{"from": from, "why": string(why)}))
}

// OfficerSession returns the enabled officer whose console session token
// this is, and restarts the session's idle timer. A session past its idle
// timeout or lifetime, or of a disabled officer, is deleted and answered
// with unauthorized.
func (a *Authority) OfficerSession(ctx context.Context, token string) (*permit.Client, error) {
	denied := permit.Errorf(permit.ECodeUnauthorized, "sign in again: the session has ended")
	if token == "" || len(token) > 100 {
		return nil, denied
	}
	h := hashSecret(token)
	var c *permit.Client
	var refused error
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.OfficerSessionByHash(ctx, h)
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			refused = denied
			return nil
		} else if err != nil {
			return err
		}
		if !tx.Now().Before(s.LastSeenAt.Add(OfficerIdleTimeout)) || s.Officer.Disabled() || s.Officer.Role != permit.RoleOfficer {
			refused = denied
			return tx.DeleteOfficerSession(ctx, h)
		}
		c = &s.Officer
		return tx.TouchOfficerSession(ctx, h)
	})
	if err != nil {
		return nil, err
	}
	return c, refused
}

// OfficerSignOut ends the console session of token, if it exists.
func (a *Authority) OfficerSignOut(ctx context.Context, token string) error {
	h := hashSecret(token)
	return a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.OfficerSessionByHash(ctx, h)
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteOfficerSession(ctx, h); err != nil {
			return err
		}
		return tx.Audit(ctx, event(WithActor(ctx, "officer:"+s.Officer.Name), "officer.signout", "officer:"+s.Officer.Name, nil))
	})
}

// PersonFile is what an officer sees on looking a person up: the registry
// record and every credential issued to the person, newest first.
type PersonFile struct {
	Record       permit.Record
	EPermits     []permit.Credential
	LinkageProof []permit.Credential
}

// LookUpPerson returns the file of the person holding travel permit
// (t, number), number as printed. Reading personal data is itself audited
// (registry.lookup), so the trail shows who looked at whom.
func (a *Authority) LookUpPerson(ctx context.Context, t permit.DocumentType, number string) (*PersonFile, error) {
	lifetime, _, err := permit.ParseTravelPermitNumber(t, strings.ToUpper(strings.TrimSpace(number)))
	if err != nil {
		return nil, err
	}
	var f PersonFile
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		rec, err := tx.RecordByPermit(ctx, t, lifetime)
		if err != nil {
			return err
		}
		f.Record = *rec
		if f.EPermits, err = tx.Credentials(ctx, rec.Person.ID, permit.TemporaryEPermit, false); err != nil {
			return err
		}
		// Electronic permits, issued only under a policy that enables
		// them, are listed with the e-permits.
		ep, err := tx.Credentials(ctx, rec.Person.ID, permit.ElectronicPermit, false)
		if err != nil {
			return err
		}
		f.EPermits = append(f.EPermits, ep...)
		if f.LinkageProof, err = tx.Credentials(ctx, rec.Person.ID, permit.LinkageProofKind, false); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, "registry.lookup", t.String()+":"+lifetime, nil))
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// PersonPortrait returns the portrait on file of a person by store id, for
// the officer console, which names people by opaque handles of its own
// rather than by document number.
func (a *Authority) PersonPortrait(ctx context.Context, personID int64) ([]byte, error) {
	var p []byte
	err := a.db.View(ctx, func(tx *store.Tx) error {
		rec, err := tx.Record(ctx, personID)
		if err == nil {
			p = rec.Person.Portrait
		}
		return err
	})
	return p, err
}
