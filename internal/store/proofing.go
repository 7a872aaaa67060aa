package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

// Proofing session states.
const (
	ProofingCodeSent     = "code_sent"     // waiting for the one-time code
	ProofingFaceRequired = "face_required" // code accepted; waiting for the selfie
	ProofingFacePending  = "face_pending"  // selfie waiting for an officer
	ProofingVerified     = "verified"      // real name and real person proven
	ProofingFailed       = "failed"        // too many wrong codes, or the face was rejected
)

// ProofingSession is one applicant's way through identity proofing. The
// applicant holds a random secret; the store keeps only its hash.
type ProofingSession struct {
	ID            int64
	SecretHash    []byte
	PersonID      int64
	DocType       permit.DocumentType
	DocNumber     string
	State         string
	CodeHash      []byte // nil once the code was used
	CodeExpiresAt time.Time
	CodeTries     int
	Selfie        []byte // only while an officer review is pending
	FaceNote      string
	SessionIssued bool
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

const proofingColumns = `id, secret_hash, person_id, doc_type, doc_number, state, code_hash, code_expires_at,
	code_tries, selfie, face_note, session_issued, created_at, expires_at`

func scanProofing(s scanner) (*ProofingSession, error) {
	var p ProofingSession
	var codeExp, created, exp int64
	var issued int
	if err := s.Scan(&p.ID, &p.SecretHash, &p.PersonID, &p.DocType, &p.DocNumber, &p.State, &p.CodeHash, &codeExp,
		&p.CodeTries, &p.Selfie, &p.FaceNote, &issued, &created, &exp); err != nil {
		return nil, err
	}
	p.CodeExpiresAt, p.CreatedAt, p.ExpiresAt = time.Unix(codeExp, 0).UTC(), time.Unix(created, 0).UTC(), time.Unix(exp, 0).UTC()
	p.SessionIssued = issued == 1
	return &p, nil
}

// AddProofingSession records a new session and sets p.ID.
func (tx *Tx) AddProofingSession(ctx context.Context, p *ProofingSession) error {
	return tx.queryRow(ctx, `INSERT INTO proofing_sessions (secret_hash, person_id, doc_type, doc_number, state,
		code_hash, code_expires_at, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		p.SecretHash, p.PersonID, p.DocType, p.DocNumber, p.State, p.CodeHash, p.CodeExpiresAt.Unix(),
		p.CreatedAt.Unix(), p.ExpiresAt.Unix()).Scan(&p.ID)
}

// ProofingSession returns the session whose secret hashes to secretHash,
// locked until commit in a read-write transaction (see forUpdate): its
// try count and state change under rules.
func (tx *Tx) ProofingSession(ctx context.Context, secretHash []byte) (*ProofingSession, error) {
	p, err := scanProofing(tx.queryRow(ctx, `SELECT `+proofingColumns+` FROM proofing_sessions WHERE secret_hash = $1`+tx.forUpdate(), secretHash))
	return p, notFound(err, "no such proofing session")
}

// ProofingSessionByID returns a session by its id (officers' view), locked
// as ProofingSession is.
func (tx *Tx) ProofingSessionByID(ctx context.Context, id int64) (*ProofingSession, error) {
	p, err := scanProofing(tx.queryRow(ctx, `SELECT `+proofingColumns+` FROM proofing_sessions WHERE id = $1`+tx.forUpdate(), id))
	return p, notFound(err, "no proofing session %d", id)
}

// UpdateProofingSession saves the session's changing fields.
func (tx *Tx) UpdateProofingSession(ctx context.Context, p *ProofingSession) error {
	issued := 0
	if p.SessionIssued {
		issued = 1
	}
	res, err := tx.exec(ctx, `UPDATE proofing_sessions SET state = $2, code_hash = $3, code_tries = $4, selfie = $5,
		face_note = $6, session_issued = $7, code_expires_at = $8 WHERE id = $1`,
		p.ID, p.State, p.CodeHash, p.CodeTries, p.Selfie, p.FaceNote, issued, p.CodeExpiresAt.Unix())
	return mustAffect(res, err, "proofing session %d", p.ID)
}

// PendingFaceReviews returns the sessions waiting for an officer, oldest
// first, that have not expired.
func (tx *Tx) PendingFaceReviews(ctx context.Context) ([]ProofingSession, error) {
	rows, err := tx.query(ctx, `SELECT `+proofingColumns+` FROM proofing_sessions
		WHERE state = $1 AND expires_at > $2 ORDER BY id`, ProofingFacePending, tx.now.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ProofingSession
	for rows.Next() {
		p, err := scanProofing(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// PendingFaceReview returns session id if it waits for an officer and has
// not expired, else not_found: one review's images without the queue's.
func (tx *Tx) PendingFaceReview(ctx context.Context, id int64) (*ProofingSession, error) {
	p, err := scanProofing(tx.queryRow(ctx, `SELECT `+proofingColumns+` FROM proofing_sessions
		WHERE id = $1 AND state = $2 AND expires_at > $3`, id, ProofingFacePending, tx.now.Unix()))
	return p, notFound(err, "no pending face review %d", id)
}

// AddAttempt records a proofing attempt under key, at the transaction's time.
func (tx *Tx) AddAttempt(ctx context.Context, key string) error {
	_, err := tx.exec(ctx, `INSERT INTO proofing_attempts (key, at) VALUES ($1, $2)`, key, tx.now.Unix())
	return err
}

// CountAttempts returns how many attempts were recorded under key since t.
// In a read-write transaction on PostgreSQL it first takes a lock on the
// key until commit, so that a count and the AddAttempt after it are not
// interleaved with another transaction's: parallel requests cannot all
// pass a limit. (A SQLite write transaction holds the database's lock.)
func (tx *Tx) CountAttempts(ctx context.Context, key string, since time.Time) (int, error) {
	if tx.db.engine == Postgres && !tx.readOnly {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "attempts:"+key); err != nil {
			return 0, err
		}
	}
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM proofing_attempts WHERE key = $1 AND at >= $2`, key, since.Unix()).Scan(&n)
	return n, err
}

// AddApplicantSession records a new applicant session.
func (tx *Tx) AddApplicantSession(ctx context.Context, s *permit.ApplicantSession) error {
	_, err := tx.exec(ctx, `INSERT INTO applicant_sessions (token_hash, person_id, doc_type, doc_number, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.TokenHash, s.PersonID, s.DocType, s.DocNumber, s.CreatedAt.Unix(), s.ExpiresAt.Unix())
	return err
}

// permit.ApplicantSession returns the unexpired session whose token hashes to
// tokenHash.
func (tx *Tx) ApplicantSession(ctx context.Context, tokenHash []byte) (*permit.ApplicantSession, error) {
	var s permit.ApplicantSession
	var nonce sql.NullString
	var nonceExp sql.NullInt64
	var created, exp int64
	err := tx.queryRow(ctx, `SELECT token_hash, person_id, doc_type, doc_number, nonce, nonce_expires_at, created_at, expires_at
		FROM applicant_sessions WHERE token_hash = $1 AND expires_at > $2`, tokenHash, tx.now.Unix()).
		Scan(&s.TokenHash, &s.PersonID, &s.DocType, &s.DocNumber, &nonce, &nonceExp, &created, &exp)
	if err != nil {
		return nil, notFound(err, "no such applicant session")
	}
	s.Nonce, s.NonceExpiresAt = nonce.String, unixOrZero(nonceExp)
	s.CreatedAt, s.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(exp, 0).UTC()
	return &s, nil
}

// SetNonce stores (or, with nonce "", clears) the session's challenge.
func (tx *Tx) SetNonce(ctx context.Context, tokenHash []byte, nonce string, expires time.Time) error {
	n := sql.NullString{String: nonce, Valid: nonce != ""}
	res, err := tx.exec(ctx, `UPDATE applicant_sessions SET nonce = $2, nonce_expires_at = $3 WHERE token_hash = $1`,
		tokenHash, n, nullUnix(expires))
	return mustAffect(res, err, "applicant session")
}

// ConsumeNonce clears the session's challenge if it is still nonce and
// unexpired, and reports whether it did. The check and the clearing are one
// conditional UPDATE, so of any number of transactions presenting the same
// nonce exactly one consumes it: on PostgreSQL the others wait for the
// row's lock and then see it cleared; on SQLite they run one at a time.
func (tx *Tx) ConsumeNonce(ctx context.Context, tokenHash []byte, nonce string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE applicant_sessions SET nonce = NULL, nonce_expires_at = NULL
		WHERE token_hash = $1 AND nonce = $2 AND nonce_expires_at > $3`, tokenHash, nonce, tx.now.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteApplicantSession ends a session (sign-out).
func (tx *Tx) DeleteApplicantSession(ctx context.Context, tokenHash []byte) error {
	_, err := tx.exec(ctx, `DELETE FROM applicant_sessions WHERE token_hash = $1`, tokenHash)
	return err
}
