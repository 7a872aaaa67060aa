package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// AddIssuerKey records a new key. Adding an active key while another is
// active fails: retire the old one first, in the same transaction.
func (tx *Tx) AddIssuerKey(ctx context.Context, k *permit.IssuerKey) error {
	_, err := tx.exec(ctx, `INSERT INTO issuer_keys (kid, key_ref, public_key, state, created_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, k.Kid, k.Ref, k.PublicKey, k.State, k.CreatedAt.Unix(), nullUnix(k.RetiredAt))
	return err
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

const issuerKeyQuery = `SELECT k.kid, k.key_ref, k.public_key, k.state, k.created_at, k.retired_at, k.revoked_at,
		(SELECT MAX(c.expires_at) FROM credentials c WHERE c.kid = k.kid)
	FROM issuer_keys k`

func scanIssuerKey(s scanner) (*permit.IssuerKey, error) {
	var k permit.IssuerKey
	var created int64
	var retired, revoked, last sql.NullInt64
	if err := s.Scan(&k.Kid, &k.Ref, &k.PublicKey, &k.State, &created, &retired, &revoked, &last); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RetiredAt, k.LastExpiry = time.Unix(created, 0).UTC(), unixOrZero(retired), unixOrZero(last)
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
