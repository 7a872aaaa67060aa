package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/hex"
	"slices"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// RetiredKeyGrace keeps a retired key in the trust list at least this long
// after retirement, for status list tokens it signed that verifiers may
// still hold.
const RetiredKeyGrace = 24 * time.Hour

// InitKeys creates the first issuer key, an ES256 one. It fails with
// conflict when an active key exists already.
func (a *Authority) InitKeys(ctx context.Context) (*permit.IssuerKey, error) {
	return a.InitKeysWith(ctx, keys.ES256)
}

// InitKeysWith is InitKeys with a key of algorithm alg.
func (a *Authority) InitKeysWith(ctx context.Context, alg keys.Algorithm) (*permit.IssuerKey, error) {
	return a.newKey(ctx, "key.init", alg, false)
}

// RotateKey makes a new key of the active key's algorithm the active one
// and retires the old, which stays in the trust list until the last
// credential it signed has expired. Under a root of trust the new key is
// pending instead: the active key signs on until ActivateKey.
func (a *Authority) RotateKey(ctx context.Context) (*permit.IssuerKey, error) {
	return a.RotateKeyWith(ctx, "")
}

// RotateKeyWith is RotateKey to a key of algorithm alg; "" keeps the active
// key's algorithm. Rotating to the other algorithm switches what every
// later e-permit, status list and linkage proof is signed with.
func (a *Authority) RotateKeyWith(ctx context.Context, alg keys.Algorithm) (*permit.IssuerKey, error) {
	if alg == "" {
		var err error
		if alg, err = a.activeAlgorithm(ctx); err != nil {
			return nil, err
		}
	}
	return a.newKey(ctx, "key.rotate", alg, true)
}

// activeAlgorithm is the active key's algorithm, or ES256 when there is no
// active key (newKey then refuses the rotation).
func (a *Authority) activeAlgorithm(ctx context.Context) (keys.Algorithm, error) {
	var k *permit.IssuerKey
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		k, err = tx.ActiveIssuerKey(ctx)
		return err
	})
	switch {
	case permit.ErrorCode(err) == permit.ECodeNotFound:
		return keys.ES256, nil
	case err != nil:
		return "", err
	}
	pub, err := parseSPKI(k.PublicKey)
	if err != nil {
		return "", err
	}
	return keys.AlgorithmOf(pub)
}

func (a *Authority) newKey(ctx context.Context, action string, alg keys.Algorithm, rotate bool) (*permit.IssuerKey, error) {
	return a.makeKey(ctx, action, alg, rotate, nil)
}

// makeKey generates a key and records it; also, if set, runs first in the
// same transaction.
func (a *Authority) makeKey(ctx context.Context, action string, alg keys.Algorithm, rotate bool, also func(tx *store.Tx) error) (*permit.IssuerKey, error) {
	ref, pub, err := a.keys.Generate(alg)
	if err != nil {
		return nil, err
	}
	der, err := credential.MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	kid, err := credential.KeyIDString(pub)
	if err != nil {
		return nil, err
	}
	k := &permit.IssuerKey{Kid: kid, Ref: ref, PublicKey: der, State: permit.KeyActive}
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		k.State = permit.KeyActive
		if rotate {
			// Under a root the new key waits, pending, for its
			// certificate and a list that names it (`keys activate`).
			if err := tx.LockTrust(ctx); err != nil {
				return err
			}
			if _, err := tx.CurrentTrustRoot(ctx); err == nil {
				k.State = permit.KeyPending
			} else if permit.ErrorCode(err) != permit.ECodeNotFound {
				return err
			}
		}
		old, err := tx.ActiveIssuerKey(ctx)
		switch {
		case err == nil && !rotate:
			return permit.Errorf(permit.ECodeConflict, "an active issuer key exists (%s); use `epermit keys rotate`", old.Kid)
		case permit.ErrorCode(err) == permit.ECodeNotFound && rotate:
			return permit.Errorf(permit.ECodeConflict, "no active issuer key to rotate; use `epermit keys init`")
		case err != nil && permit.ErrorCode(err) != permit.ECodeNotFound:
			return err
		case k.State == permit.KeyPending:
			old = nil // it signs on until the pending key is activated
			if p, err := tx.PendingIssuerKey(ctx); err == nil {
				return permit.Errorf(permit.ECodeConflict, "key %s is pending already: certify and activate it (`epermit keys activate`) before rotating again", p.Kid)
			} else if permit.ErrorCode(err) != permit.ECodeNotFound {
				return err
			}
		case err == nil:
			if err := tx.RetireIssuerKey(ctx, old.Kid); err != nil {
				return err
			}
		}
		// The next rotation makes its key where this one was made.
		if a.cfg.KMS != "" {
			if err := tx.SetSetting(ctx, store.SettingKMS, a.cfg.KMS); err != nil {
				return err
			}
		}
		k.CreatedAt = tx.Now()
		if err := tx.AddIssuerKey(ctx, k); err != nil {
			return err
		}
		details := map[string]string{"ref": ref, "algorithm": string(alg)}
		if old != nil {
			details["retired"] = old.Kid
		}
		if k.State == permit.KeyPending {
			details["state"] = permit.KeyPending
		}
		return tx.Audit(ctx, event(ctx, action, "kid:"+kid, details))
	})
	if err != nil {
		if rmErr := a.keys.Remove(ref); rmErr != nil {
			a.log.Error("could not remove unrecorded key", "ref", ref, "err", rmErr)
		}
		return nil, err
	}
	a.log.Info("issuer key created", "kid", kid, "action", action, "algorithm", alg)
	return k, nil
}

// Keys lists every issuer key on record, newest first.
func (a *Authority) Keys(ctx context.Context) ([]permit.IssuerKey, error) {
	var keys []permit.IssuerKey
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		keys, err = tx.IssuerKeys(ctx)
		return err
	})
	return keys, err
}

// Published reports whether k belongs in the trust list at instant now: the
// active key, and a retired key until both its last credential has expired
// and the grace period after retirement has passed; a revoked key never.
func Published(k permit.IssuerKey, now time.Time) bool {
	switch k.State {
	case permit.KeyActive:
		return true
	case permit.KeyRevoked:
		return false
	}
	return now.Before(k.LastExpiry) || now.Before(k.RetiredAt.Add(RetiredKeyGrace))
}

// RevokeKey withdraws a leaked issuer key: in one transaction the trust list
// drops it and every current credential it signed is revoked (each
// audited), so that neither a forgery made with it nor anything it signed
// is accepted any more; the applications of those credentials are voided,
// so they do not count toward the holders' monthly quota. The active key
// cannot be revoked: rotate first; a pending key (never active) can. It
// returns the credentials it revoked.
func (a *Authority) RevokeKey(ctx context.Context, kid, reason string) ([]permit.Credential, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	var revoked []permit.Credential
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.IssuerKey(ctx, kid)
		switch {
		case err != nil:
			return err
		case k.State == permit.KeyActive:
			return permit.Errorf(permit.ECodeConflict, "%s is the active key: run `epermit keys rotate` first", kid)
		case k.State == permit.KeyRevoked:
			return permit.Errorf(permit.ECodeConflict, "%s is revoked already", kid)
		case k.State == permit.KeyPending:
			// Never signed, but a list may name it: retired, then revoked,
			// it goes into the next list's revoked.
			if err := tx.RetirePendingIssuerKey(ctx, kid); err != nil {
				return err
			}
		}
		if err := tx.RevokeIssuerKey(ctx, kid); err != nil {
			return err
		}
		// Every list signed again, so that no server keeps serving a
		// token of the revoked key, useless to gates, until ttl/2.
		if err := tx.ChangeAllStatusLists(ctx); err != nil {
			return err
		}
		if revoked, err = tx.CurrentCredentialsByKey(ctx, kid); err != nil {
			return err
		}
		why := "issuer key revoked: " + reason
		for _, c := range revoked {
			if err := tx.SetCredentialState(ctx, c.ID, permit.CredentialRevoked, why); err != nil {
				return err
			}
			// The authority's failure, not the holder's: their application
			// no longer counts, so they can apply again this month.
			if c.ApplicationID != 0 {
				if err := tx.VoidApplication(ctx, c.ApplicationID); err != nil {
					return err
				}
			}
			if err := tx.Audit(ctx, event(ctx, "credential.revoke", "cti:"+hex.EncodeToString(c.ID),
				map[string]any{"reason": why, "from": c.State, "cause": "key"})); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, event(ctx, "key.revoke", "kid:"+kid, map[string]any{"reason": reason, "credentials": len(revoked)}))
	})
	if err != nil {
		return nil, err
	}
	a.log.Warn("issuer key revoked", "kid", kid, "credentials", len(revoked))
	return revoked, nil
}

// TrustList returns the JWK Set of spec §1: every key that may still have
// valid credentials.
func (a *Authority) TrustList(ctx context.Context) (*credential.JWKSet, error) {
	keys, err := a.Keys(ctx)
	if err != nil {
		return nil, err
	}
	set := &credential.JWKSet{Keys: []credential.JWK{}}
	now := a.now()
	for _, k := range keys {
		if !Published(k, now) {
			continue
		}
		pub, err := parseSPKI(k.PublicKey)
		if err != nil {
			return nil, err
		}
		jwk, err := credential.NewJWK(pub)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// SigningAlgorithms returns the JOSE names of the algorithms of the keys in
// the trust list, the active key's first, each once: what the authority
// signs with now, and what credentials still valid may be signed with.
// Issuer metadata and request objects advertise them (spec §9, §10).
func (a *Authority) SigningAlgorithms(ctx context.Context) ([]string, error) {
	keys, err := a.Keys(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	var algs []string
	for _, k := range keys {
		if !Published(k, now) {
			continue
		}
		pub, err := parseSPKI(k.PublicKey)
		if err != nil {
			return nil, err
		}
		alg, err := credential.KeyAlgorithm(pub)
		if err != nil {
			return nil, err
		}
		if k.State == permit.KeyActive {
			algs = slices.Insert(slices.DeleteFunc(algs, func(a string) bool { return a == alg }), 0, alg)
		} else if !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	return algs, nil
}

// activeSigner returns the active key's record and signer. Without an
// active key, or when its signer does not open, the authority cannot
// issue: that is ECodeNotReady (503), the operator's problem, not the
// applicant's.
//
// Under a root of trust the key signs only what permit.CanSign allows: it
// is certified, now is in its usage period, and exp (when what it signs
// expires) is within its certificate.
func (a *Authority) activeSigner(ctx context.Context, tx *store.Tx, exp time.Time) (*permit.IssuerKey, crypto.Signer, error) {
	k, rooted, err := tx.SigningIssuerKey(ctx)
	if permit.ErrorCode(err) == permit.ECodeNotFound {
		return nil, nil, permit.Errorf(permit.ECodeNotReady, "no active issuer key: run `epermit keys init`")
	}
	if err != nil {
		return nil, nil, err
	}
	if err := permit.CanSign(k, rooted, tx.Now(), exp); err != nil {
		return nil, nil, err
	}
	// A reference names one key for good, so an opened signer can be kept.
	if s, ok := a.signers.Load(k.Ref); ok {
		return k, s.(crypto.Signer), nil
	}
	s, err := a.keys.Signer(k.Ref)
	if err != nil {
		a.log.Error("the active issuer key does not open", "kid", k.Kid, "err", err)
		return nil, nil, permit.Errorf(permit.ECodeNotReady, "the active issuer key %s does not open", k.Kid)
	}
	a.signers.Store(k.Ref, s)
	return k, s, nil
}

// parseSPKI reads a stored issuer public key, P-256 or SM2.
func parseSPKI(der []byte) (*ecdsa.PublicKey, error) {
	return credential.ParsePublicKey(der)
}
