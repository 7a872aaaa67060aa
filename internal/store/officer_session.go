package store

import (
	"context"
	"time"

	"github.com/epermit/epermit/permit"
)

// OfficerSession is a signed-in officer's console session, with the officer
// it belongs to. The browser holds a random token; only its hash is kept.
type OfficerSession struct {
	TokenHash  []byte
	Officer    permit.Client
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end, however active the officer is
}

// AddOfficerSession records a new console session for officer clientID.
func (tx *Tx) AddOfficerSession(ctx context.Context, tokenHash []byte, clientID int64, expires time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO officer_sessions (token_hash, client_id, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $3, $4)`, tokenHash, clientID, tx.now.Unix(), expires.Unix())
	return err
}

// OfficerSessionByHash returns the session whose token hashes to tokenHash
// and has not reached its absolute end, with its officer as now recorded
// (so a disabled officer is seen at once). Idle time is the caller's to
// judge from LastSeenAt.
func (tx *Tx) OfficerSessionByHash(ctx context.Context, tokenHash []byte) (*OfficerSession, error) {
	var s OfficerSession
	var created, seen, exp int64
	row := tx.queryRow(ctx, `SELECT s.token_hash, s.created_at, s.last_seen_at, s.expires_at, c.`+
		`id, c.role, c.name, c.category, c.key_hash, c.key_prefix, c.disabled_at, c.created_at, c.rate_limit
		FROM officer_sessions s JOIN clients c ON c.id = s.client_id
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, tx.now.Unix())
	c, err := scanClient(scanFunc(func(dest ...any) error {
		return row.Scan(append([]any{&s.TokenHash, &created, &seen, &exp}, dest...)...)
	}))
	if err != nil {
		return nil, notFound(err, "no such officer session")
	}
	s.Officer = *c
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(seen, 0).UTC(), time.Unix(exp, 0).UTC()
	return &s, nil
}

// scanFunc adapts a function to scanner, to scan a row whose leading
// columns belong to something else.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// TouchOfficerSession records activity on a session at the transaction's
// time, which restarts its idle timer.
func (tx *Tx) TouchOfficerSession(ctx context.Context, tokenHash []byte) error {
	_, err := tx.exec(ctx, `UPDATE officer_sessions SET last_seen_at = $2 WHERE token_hash = $1`, tokenHash, tx.now.Unix())
	return err
}

// DeleteOfficerSession ends a session (sign-out or timeout).
func (tx *Tx) DeleteOfficerSession(ctx context.Context, tokenHash []byte) error {
	_, err := tx.exec(ctx, `DELETE FROM officer_sessions WHERE token_hash = $1`, tokenHash)
	return err
}

// DeleteOfficerSessionsOf ends every session of an officer, whose key was
// replaced or who was disabled.
func (tx *Tx) DeleteOfficerSessionsOf(ctx context.Context, clientID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM officer_sessions WHERE client_id = $1`, clientID)
	return err
}

// DeleteOfficerSessionsBefore removes sessions that reached their absolute
// end before t, so the table does not grow without bound.
func (tx *Tx) DeleteOfficerSessionsBefore(ctx context.Context, t time.Time) error {
	_, err := tx.exec(ctx, `DELETE FROM officer_sessions WHERE expires_at <= $1`, t.Unix())
	return err
}
