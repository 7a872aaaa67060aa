package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// OpenID4VCI offer states.
const (
	OfferOffered  = "offered"  // waiting for the wallet at the token endpoint
	OfferRedeemed = "redeemed" // an access token was issued; waiting for the credential request
	OfferIssued   = "issued"   // the credential was issued: the offer is spent
	OfferVoid     = "void"     // too many wrong transaction codes, or the code could not be sent
)

// Offer is an OpenID4VCI credential offer of the pre-authorized code flow.
// Only hashes of its codes and token rest here.
type Offer struct {
	CodeHash       []byte
	PersonID       int64
	DocType        permit.DocumentType
	DocNumber      string // the travel permit's lifetime number
	Kind           permit.Kind
	Reason         permit.Reason // e-permits only
	Channel        permit.Channel
	TxCodeHash     []byte
	Tries          int // wrong transaction codes so far
	State          string
	TokenHash      []byte // set when redeemed
	TokenExpiresAt time.Time
	CredentialID   []byte // set when issued
	CreatedAt      time.Time
	ExpiresAt      time.Time // of the pre-authorized code
}

const offerColumns = `code_hash, person_id, doc_type, doc_number, kind, reason, channel, tx_code_hash, tries, state,
	token_hash, token_expires_at, credential_id, created_at, expires_at`

func scanOffer(s scanner) (*Offer, error) {
	var o Offer
	var tokenExp sql.NullInt64
	var created, exp int64
	if err := s.Scan(&o.CodeHash, &o.PersonID, &o.DocType, &o.DocNumber, &o.Kind, &o.Reason, &o.Channel, &o.TxCodeHash,
		&o.Tries, &o.State, &o.TokenHash, &tokenExp, &o.CredentialID, &created, &exp); err != nil {
		return nil, err
	}
	o.TokenExpiresAt, o.CreatedAt, o.ExpiresAt = unixOrZero(tokenExp), time.Unix(created, 0).UTC(), time.Unix(exp, 0).UTC()
	return &o, nil
}

// AddOffer records a new credential offer.
func (tx *Tx) AddOffer(ctx context.Context, o *Offer) error {
	_, err := tx.exec(ctx, `INSERT INTO vci_offers (code_hash, person_id, doc_type, doc_number, kind, reason, channel,
		tx_code_hash, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		o.CodeHash, o.PersonID, o.DocType, o.DocNumber, o.Kind, o.Reason, o.Channel, o.TxCodeHash, o.State,
		o.CreatedAt.Unix(), o.ExpiresAt.Unix())
	return err
}

// OfferByCode returns the offer whose pre-authorized code hashes to
// codeHash, locked until commit in a read-write transaction (forUpdate):
// its tries and state change under rules.
func (tx *Tx) OfferByCode(ctx context.Context, codeHash []byte) (*Offer, error) {
	o, err := scanOffer(tx.queryRow(ctx, `SELECT `+offerColumns+` FROM vci_offers WHERE code_hash = $1`+tx.forUpdate(), codeHash))
	return o, notFound(err, "no such credential offer")
}

// OfferByToken returns the offer whose access token hashes to tokenHash,
// locked as OfferByCode is.
func (tx *Tx) OfferByToken(ctx context.Context, tokenHash []byte) (*Offer, error) {
	o, err := scanOffer(tx.queryRow(ctx, `SELECT `+offerColumns+` FROM vci_offers WHERE token_hash = $1`+tx.forUpdate(), tokenHash))
	return o, notFound(err, "no such access token")
}

// UpdateOffer saves the offer's changing fields.
func (tx *Tx) UpdateOffer(ctx context.Context, o *Offer) error {
	res, err := tx.exec(ctx, `UPDATE vci_offers SET tries = $2, state = $3, token_hash = $4, token_expires_at = $5,
		credential_id = $6 WHERE code_hash = $1`, o.CodeHash, o.Tries, o.State, o.TokenHash, nullUnix(o.TokenExpiresAt), o.CredentialID)
	return mustAffect(res, err, "credential offer")
}

// AddCNonce records a fresh c_nonce, and forgets the expired ones.
func (tx *Tx) AddCNonce(ctx context.Context, nonce string, expiresAt time.Time) error {
	if _, err := tx.DeleteCNoncesBefore(ctx, tx.now); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO vci_nonces (nonce, expires_at) VALUES ($1, $2)`, nonce, expiresAt.Unix())
	return err
}

// ConsumeCNonce deletes the c_nonce if it exists and has not expired, and
// reports whether it did. The check and the deletion are one conditional
// DELETE, so of any number of transactions presenting the same nonce
// exactly one consumes it: on PostgreSQL the others wait for the row's lock
// and then find it gone; on SQLite they run one at a time.
func (tx *Tx) ConsumeCNonce(ctx context.Context, nonce string) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM vci_nonces WHERE nonce = $1 AND expires_at > $2`, nonce, tx.now.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteOffersBefore removes the offers whose pre-authorized code and
// access token (if any) expired at or before t, whatever their state: none
// can be used again, and the audit log keeps what happened to them. It
// returns how many went.
func (tx *Tx) DeleteOffersBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM vci_offers WHERE expires_at <= $1
		AND (token_expires_at IS NULL OR token_expires_at <= $1)`, t.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteCNoncesBefore removes the c_nonces that expired at or before t and
// returns how many went.
func (tx *Tx) DeleteCNoncesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM vci_nonces WHERE expires_at <= $1`, t.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
