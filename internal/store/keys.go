package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// AddIssuerKey records a new key. Adding an active key while another is
// active fails: retire the old one first, in the same transaction; so does
// adding a second pending key. A certificate, if set, is recorded with it.
func (tx *Tx) AddIssuerKey(ctx context.Context, k *permit.IssuerKey) error {
	_, err := tx.exec(ctx, `INSERT INTO issuer_keys (kid, key_ref, public_key, state, created_at, retired_at,
		certificate, cert_not_before, cert_not_after, usage_not_before, usage_not_after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, k.Kid, k.Ref, k.PublicKey, k.State, k.CreatedAt.Unix(), nullUnix(k.RetiredAt),
		nullBytes(k.Certificate), nullUnix(k.CertNotBefore), nullUnix(k.CertNotAfter), nullUnix(k.UsageNotBefore), nullUnix(k.UsageNotAfter))
	return err
}

// CertifyIssuerKey records the document-signer certificate of the pending
// or active, unrevoked key kid (replacing an earlier one: a renewal) with
// its validity and usage period, which the caller read from it.
func (tx *Tx) CertifyIssuerKey(ctx context.Context, kid string, cert []byte, notBefore, notAfter, usageNotBefore, usageNotAfter time.Time) error {
	if len(cert) == 0 || notAfter.IsZero() {
		return permit.Errorf(permit.ECodeInvalid, "a certificate and its validity are needed")
	}
	res, err := tx.exec(ctx, `UPDATE issuer_keys SET certificate = $2, cert_not_before = $3, cert_not_after = $4,
		usage_not_before = $5, usage_not_after = $6 WHERE kid = $1 AND state IN ('pending', 'active') AND revoked_at IS NULL`,
		kid, cert, nullUnix(notBefore), nullUnix(notAfter), nullUnix(usageNotBefore), nullUnix(usageNotAfter))
	return mustAffect(res, err, "pending or active key %s", kid)
}

// ActivateIssuerKey makes the pending key kid the active one and retires
// the active key, if any, in the caller's transaction.
func (tx *Tx) ActivateIssuerKey(ctx context.Context, kid string) error {
	if _, err := tx.exec(ctx, `UPDATE issuer_keys SET state = 'retired', retired_at = $1 WHERE state = 'active'`, tx.now.Unix()); err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE issuer_keys SET state = 'active' WHERE kid = $1 AND state = 'pending'`, kid)
	return mustAffect(res, err, "pending key %s", kid)
}

// RetirePendingIssuerKey retires the pending key kid without it ever
// signing: a key given up (or leaked) before activation, which may then be
// revoked like any retired key.
func (tx *Tx) RetirePendingIssuerKey(ctx context.Context, kid string) error {
	res, err := tx.exec(ctx, `UPDATE issuer_keys SET state = 'retired', retired_at = $2 WHERE kid = $1 AND state = 'pending'`,
		kid, tx.now.Unix())
	return mustAffect(res, err, "pending key %s", kid)
}

// PendingIssuerKey returns the key waiting to be activated.
func (tx *Tx) PendingIssuerKey(ctx context.Context) (*permit.IssuerKey, error) {
	k, err := scanIssuerKey(tx.queryRow(ctx, issuerKeyQuery+` WHERE k.state = 'pending'`))
	if err != nil {
		return nil, notFound(err, "no pending issuer key: run `epermit keys rotate`")
	}
	return k, nil
}

// RetireIssuerKey moves the active key kid to retired: it signs nothing more
// but stays in the trust list while credentials it signed are valid.
func (tx *Tx) RetireIssuerKey(ctx context.Context, kid string) error {
	res, err := tx.exec(ctx, `UPDATE issuer_keys SET state = 'retired', retired_at = $2 WHERE kid = $1 AND state = 'active'`,
		kid, tx.now.Unix())
	return mustAffect(res, err, "active key %s", kid)
}

// RevokeIssuerKey marks the retired key kid revoked: the trust list drops
// it. The active key cannot be revoked: rotate first.
func (tx *Tx) RevokeIssuerKey(ctx context.Context, kid string) error {
	res, err := tx.exec(ctx, `UPDATE issuer_keys SET revoked_at = $2 WHERE kid = $1 AND state = 'retired' AND revoked_at IS NULL`,
		kid, tx.now.Unix())
	return mustAffect(res, err, "retired, unrevoked key %s", kid)
}

const issuerKeyColumns = `k.kid, k.key_ref, k.public_key, k.state, k.created_at, k.retired_at, k.revoked_at,
		(SELECT MAX(c.expires_at) FROM credentials c WHERE c.kid = k.kid),
		k.certificate, k.cert_not_before, k.cert_not_after, k.usage_not_before, k.usage_not_after`

const issuerKeyQuery = `SELECT ` + issuerKeyColumns + ` FROM issuer_keys k`

// scanIssuerKey reads a row of issuerKeyColumns, then into extra any
// columns the query adds after them.
func scanIssuerKey(s scanner, extra ...any) (*permit.IssuerKey, error) {
	var k permit.IssuerKey
	var created int64
	var retired, revoked, last, certNB, certNA, useNB, useNA sql.NullInt64
	if err := s.Scan(append([]any{&k.Kid, &k.Ref, &k.PublicKey, &k.State, &created, &retired, &revoked, &last,
		&k.Certificate, &certNB, &certNA, &useNB, &useNA}, extra...)...); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt, k.LastExpiry = time.Unix(created, 0).UTC(), unixOrZero(retired), unixOrZero(last)
	k.CertNotBefore, k.CertNotAfter = unixOrZero(certNB), unixOrZero(certNA)
	k.UsageNotBefore, k.UsageNotAfter = unixOrZero(useNB), unixOrZero(useNA)
	if k.RevokedAt = unixOrZero(revoked); !k.RevokedAt.IsZero() {
		k.State = permit.KeyRevoked
	}
	return &k, nil
}

// ActiveIssuerKey returns the one key that signs new credentials.
func (tx *Tx) ActiveIssuerKey(ctx context.Context) (*permit.IssuerKey, error) {
	k, err := scanIssuerKey(tx.queryRow(ctx, issuerKeyQuery+` WHERE k.state = 'active'`))
	if err != nil {
		return nil, notFound(err, "no active issuer key: run `epermit keys init`")
	}
	return k, nil
}

// SigningIssuerKey is ActiveIssuerKey, also saying whether a root of trust
// is recorded (the signing rule, permit.CanSign, then applies), in one
// statement: issuance reads it every time.
func (tx *Tx) SigningIssuerKey(ctx context.Context) (k *permit.IssuerKey, rooted bool, err error) {
	var roots int
	k, err = scanIssuerKey(tx.queryRow(ctx, `SELECT `+issuerKeyColumns+`, (SELECT COUNT(*) FROM trust_roots)
		FROM issuer_keys k WHERE k.state = 'active'`), &roots)
	if err != nil {
		return nil, false, notFound(err, "no active issuer key: run `epermit keys init`")
	}
	return k, roots > 0, nil
}

// IssuerKeys returns every key on record, newest first.
func (tx *Tx) IssuerKeys(ctx context.Context) ([]permit.IssuerKey, error) {
	rows, err := tx.query(ctx, issuerKeyQuery+` ORDER BY k.created_at DESC, k.kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []permit.IssuerKey
	for rows.Next() {
		k, err := scanIssuerKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, *k)
	}
	return keys, rows.Err()
}

// permit.IssuerKey returns the key with id kid.
func (tx *Tx) IssuerKey(ctx context.Context, kid string) (*permit.IssuerKey, error) {
	k, err := scanIssuerKey(tx.queryRow(ctx, issuerKeyQuery+` WHERE k.kid = $1`, kid))
	if err != nil {
		return nil, notFound(err, "no issuer key %s", kid)
	}
	return k, nil
}
