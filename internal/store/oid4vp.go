package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// OpenID4VP request states.
const (
	VPPending  = "pending"  // waiting for the wallet
	VPAnswered = "answered" // a verified presentation was accepted
	VPDeclined = "declined" // the holder declined
)

// VPRequest is an institution's OpenID4VP presentation request.
type VPRequest struct {
	ID         string // the transaction id
	ClientID   int64  // the institution
	Purpose    string
	Query      string // the DCQL query, JSON
	Nonce      string
	State      string
	Result     string // JSON, once answered
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AnsweredAt time.Time
}

// AddVPRequest records a new presentation request.
func (tx *Tx) AddVPRequest(ctx context.Context, r *VPRequest) error {
	_, err := tx.exec(ctx, `INSERT INTO vp_requests (id, client_id, purpose, query, nonce, state, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.ClientID, r.Purpose, r.Query, r.Nonce, r.State,
		r.CreatedAt.Unix(), r.ExpiresAt.Unix())
	return err
}

// VPRequest returns a presentation request by its transaction id.
func (tx *Tx) VPRequest(ctx context.Context, id string) (*VPRequest, error) {
	var r VPRequest
	var result sql.NullString
	var answered sql.NullInt64
	var created, exp int64
	err := tx.queryRow(ctx, `SELECT id, client_id, purpose, query, nonce, state, result, created_at, expires_at, answered_at
		FROM vp_requests WHERE id = $1`, id).Scan(&r.ID, &r.ClientID, &r.Purpose, &r.Query, &r.Nonce, &r.State, &result,
		&created, &exp, &answered)
	if err != nil {
		return nil, notFound(err, "no such presentation request")
	}
	r.Result, r.CreatedAt, r.ExpiresAt, r.AnsweredAt = result.String, time.Unix(created, 0).UTC(), time.Unix(exp, 0).UTC(), unixOrZero(answered)
	return &r, nil
}

// AnswerVPRequest moves a pending, unexpired request to state with its
// result, and reports whether it did. The check and the change are one
// conditional UPDATE, so of any number of responses to one request exactly
// one is accepted: on PostgreSQL the others wait for the row's lock and
// then find it answered; on SQLite they run one at a time.
func (tx *Tx) AnswerVPRequest(ctx context.Context, id, state, result string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE vp_requests SET state = $2, result = $3, answered_at = $4
		WHERE id = $1 AND state = $5 AND expires_at > $4`, id, state, result, tx.now.Unix(), VPPending)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// VPRequestClient returns the institution that made a presentation request.
func (tx *Tx) VPRequestClient(ctx context.Context, id string) (*permit.Client, error) {
	c, err := scanClient(tx.queryRow(ctx, `SELECT c.id, c.role, c.name, c.category, c.key_hash, c.key_prefix, c.disabled_at, c.created_at, c.rate_limit FROM clients c
		JOIN vp_requests r ON r.client_id = c.id WHERE r.id = $1`, id))
	return c, notFound(err, "no such presentation request")
}

// DeleteVPRequestsBefore removes the presentation requests that expired at
// or before t, answered or not, results included, and returns how many
// went.
func (tx *Tx) DeleteVPRequestsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM vp_requests WHERE expires_at <= $1`, t.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
