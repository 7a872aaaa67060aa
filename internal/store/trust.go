package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// TrustRoot is a root certificate the serving side trusts (docs/keys.md):
// the one that certifies its issuer keys and signs its trust lists.
type TrustRoot struct {
	Kid          string // spec §1 kid of the root key
	Certificate  []byte // DER
	AddedAt      time.Time
	SupersededAt time.Time // zero for the current root
}

// TrustListRecord is a signed trust list (spec §1.2) as imported.
type TrustListRecord struct {
	Seq        int64
	Document   string // the JWS compact serialization, as the root signed it
	IssuedAt   time.Time
	ExpiresAt  time.Time
	ImportedAt time.Time
}

// LockTrust serializes the decisions about the root of trust (which root,
// which list is newest, which key is activated) among write transactions:
// on PostgreSQL an advisory lock held until commit, so two imports or
// activations cannot both read the same state and both write; a SQLite
// write transaction holds the database's lock already.
func (tx *Tx) LockTrust(ctx context.Context) error {
	if tx.db.engine == Postgres && !tx.readOnly {
		_, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('epermit-trust', 0))`)
		return err
	}
	return nil
}

// CurrentTrustRoot returns the root in force; not_found when none was
// recorded (the authority then runs without a root, as before issue 19).
func (tx *Tx) CurrentTrustRoot(ctx context.Context) (*TrustRoot, error) {
	var r TrustRoot
	var added int64
	err := tx.queryRow(ctx, `SELECT kid, certificate, added_at FROM trust_roots WHERE superseded_at IS NULL`).
		Scan(&r.Kid, &r.Certificate, &added)
	if err != nil {
		return nil, notFound(err, "no root of trust recorded: run `epermit keys certify` with a certificate from `epermit root sign`")
	}
	r.AddedAt = time.Unix(added, 0).UTC()
	return &r, nil
}

// TrustRoots returns every root recorded, the current one first, then the
// superseded ones newest first.
func (tx *Tx) TrustRoots(ctx context.Context) ([]TrustRoot, error) {
	rows, err := tx.query(ctx, `SELECT kid, certificate, added_at, superseded_at FROM trust_roots
		ORDER BY superseded_at IS NULL DESC, superseded_at DESC, added_at DESC, kid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TrustRoot
	for rows.Next() {
		var r TrustRoot
		var added int64
		var superseded sql.NullInt64
		if err := rows.Scan(&r.Kid, &r.Certificate, &added, &superseded); err != nil {
			return nil, err
		}
		r.AddedAt, r.SupersededAt = time.Unix(added, 0).UTC(), unixOrZero(superseded)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetTrustRoot makes the root kid (certificate der) the current one,
// superseding the one before, if any. Recording the current root again
// changes nothing; a root superseded before cannot come back (conflict).
func (tx *Tx) SetTrustRoot(ctx context.Context, kid string, der []byte) error {
	cur, err := tx.CurrentTrustRoot(ctx)
	switch {
	case err == nil && cur.Kid == kid:
		return nil
	case err == nil:
		if _, err := tx.exec(ctx, `UPDATE trust_roots SET superseded_at = $1 WHERE superseded_at IS NULL`, tx.now.Unix()); err != nil {
			return err
		}
	case permit.ErrorCode(err) != permit.ECodeNotFound:
		return err
	}
	res, err := tx.exec(ctx, `INSERT INTO trust_roots (kid, certificate, added_at) VALUES ($1, $2, $3)
		ON CONFLICT (kid) DO NOTHING`, kid, der, tx.now.Unix())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return permit.Errorf(permit.ECodeConflict, "root %s was superseded before and cannot be taken back", kid)
	}
	return nil
}

// LatestTrustList returns the imported list with the highest sequence
// number; not_found when none was imported.
func (tx *Tx) LatestTrustList(ctx context.Context) (*TrustListRecord, error) {
	var l TrustListRecord
	var iat, exp, imported int64
	err := tx.queryRow(ctx, `SELECT seq, document, issued_at, expires_at, imported_at FROM trust_lists
		ORDER BY seq DESC LIMIT 1`).Scan(&l.Seq, &l.Document, &iat, &exp, &imported)
	if err != nil {
		return nil, notFound(err, "no signed trust list imported: run `epermit trust-list import`")
	}
	l.IssuedAt, l.ExpiresAt, l.ImportedAt = time.Unix(iat, 0).UTC(), time.Unix(exp, 0).UTC(), time.Unix(imported, 0).UTC()
	return &l, nil
}

// AddTrustList records a list whose sequence number must be above every
// one recorded: a lower or equal one is a conflict (the caller decides,
// under LockTrust, what an equal one means). The check and the insert are
// one statement, so that the rule holds without the lock too.
func (tx *Tx) AddTrustList(ctx context.Context, l *TrustListRecord) error {
	if l.Seq < 0 || l.Document == "" {
		return permit.Errorf(permit.ECodeInvalid, "a trust list needs a sequence number and a document")
	}
	res, err := tx.exec(ctx, `INSERT INTO trust_lists (seq, document, issued_at, expires_at, imported_at)
		SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS BIGINT)
		WHERE NOT EXISTS (SELECT 1 FROM trust_lists WHERE seq >= CAST($1 AS BIGINT))
		ON CONFLICT (seq) DO NOTHING`,
		l.Seq, l.Document, l.IssuedAt.Unix(), l.ExpiresAt.Unix(), tx.now.Unix())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return permit.Errorf(permit.ECodeConflict, "a trust list with sequence number %d or higher is imported already", l.Seq)
	}
	l.ImportedAt = tx.now.Truncate(time.Second).UTC()
	return nil
}
