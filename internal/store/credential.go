package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/epermit/epermit/permit"
)

// AddApplication records an application and sets a.ID.
func (tx *Tx) AddApplication(ctx context.Context, a *permit.Application) error {
	var key sql.NullString
	if a.IdempotencyKey != "" {
		key = sql.NullString{String: a.IdempotencyKey, Valid: true}
	}
	return tx.queryRow(ctx, `INSERT INTO applications
		(person_id, kind, doc_type, doc_number, reason, month, created_at, channel, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		a.PersonID, a.Kind, a.DocumentType, a.DocumentNumber, a.Reason, a.Month, a.CreatedAt.Unix(), a.Channel, key).Scan(&a.ID)
}

// CountApplications returns how many applications of a kind a person made in
// a calendar month ("2026-11"), voided ones left out (VoidApplication).
// Each application is recorded with its credential, so the person's
// credentials lead to them (credentials_person).
func (tx *Tx) CountApplications(ctx context.Context, personID int64, kind permit.Kind, month string) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM credentials c JOIN applications a ON a.id = c.application_id
		WHERE c.person_id = $1 AND c.kind = $2 AND a.month = $3 AND a.voided_at IS NULL`,
		personID, kind, month).Scan(&n)
	return n, err
}

// VoidApplication takes an application out of the monthly count, for good.
func (tx *Tx) VoidApplication(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `UPDATE applications SET voided_at = $2 WHERE id = $1 AND voided_at IS NULL`, id, tx.now.Unix())
	return mustAffect(res, err, "application %d", id)
}

// CredentialByIdempotencyKey returns the credential issued for the
// application that carried key, so that a retried request gets it again.
func (tx *Tx) CredentialByIdempotencyKey(ctx context.Context, key string) (*permit.Credential, error) {
	c, err := scanCredential(tx.queryRow(ctx, credentialQuery+
		` JOIN applications a ON a.id = c.application_id WHERE a.idempotency_key = $1`, key))
	return c, notFound(err, "no credential for that idempotency key")
}

const credentialQuery = `SELECT c.cti, c.kind, c.person_id, c.application_id, c.kid, c.issued_at, c.not_before,
	c.expires_at, c.holder_key, c.status_list, c.status_idx, c.state, c.state_reason, c.state_at, c.token
	FROM credentials c`

func scanCredential(s scanner) (*permit.Credential, error) {
	var c permit.Credential
	var app, stateAt sql.NullInt64
	var issued, nbf, exp int64
	if err := s.Scan(&c.ID, &c.Kind, &c.PersonID, &app, &c.KeyID, &issued, &nbf, &exp, &c.HolderKey,
		&c.StatusList, &c.StatusIndex, &c.State, &c.StateReason, &stateAt, &c.Token); err != nil {
		return nil, err
	}
	c.ApplicationID = app.Int64
	c.IssuedAt, c.NotBefore, c.ExpiresAt = time.Unix(issued, 0).UTC(), time.Unix(nbf, 0).UTC(), time.Unix(exp, 0).UTC()
	c.StateAt = unixOrZero(stateAt)
	return &c, nil
}

// AddCredential records an issued credential. Its status entry must have
// been allocated in the same transaction (AllocateStatus).
func (tx *Tx) AddCredential(ctx context.Context, c *permit.Credential) error {
	app := sql.NullInt64{Int64: c.ApplicationID, Valid: c.ApplicationID != 0}
	_, err := tx.exec(ctx, `INSERT INTO credentials (cti, kind, person_id, application_id, kid, issued_at, not_before,
		expires_at, holder_key, status_list, status_idx, state, state_reason, state_at, token)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.Kind, c.PersonID, app, c.KeyID, c.IssuedAt.Unix(), c.NotBefore.Unix(), c.ExpiresAt.Unix(), c.HolderKey,
		c.StatusList, c.StatusIndex, c.State, c.StateReason, nullUnix(c.StateAt), c.Token)
	return err
}

// CredentialPerson returns whose credential cti is, without locking it: to
// take the person's lock first, the order every rule follows.
func (tx *Tx) CredentialPerson(ctx context.Context, cti []byte) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT person_id FROM credentials WHERE cti = $1`, cti).Scan(&id)
	return id, notFound(err, "no credential %x", cti)
}

// Credential returns the credential with id cti, locked until commit in a
// read-write transaction (see forUpdate): what is done with it depends on
// its state.
func (tx *Tx) Credential(ctx context.Context, cti []byte) (*permit.Credential, error) {
	c, err := scanCredential(tx.queryRow(ctx, credentialQuery+` WHERE c.cti = $1`+tx.forUpdate(), cti))
	return c, notFound(err, "no credential %x", cti)
}

// Credentials returns a person's credentials of a kind, newest first; with
// current set, only those neither revoked nor expired at the transaction's
// time.
func (tx *Tx) Credentials(ctx context.Context, personID int64, kind permit.Kind, current bool) ([]permit.Credential, error) {
	q := credentialQuery + ` WHERE c.person_id = $1 AND c.kind = $2`
	args := []any{personID, kind}
	if current {
		q += ` AND c.state <> 'revoked' AND c.expires_at > $3`
		args = append(args, tx.now.Unix())
	}
	return tx.credentials(ctx, q+` ORDER BY c.issued_at DESC, COALESCE(c.application_id, 0) DESC, c.cti`, args...)
}

// credentials runs a credentialQuery and collects its rows.
func (tx *Tx) credentials(ctx context.Context, q string, args ...any) ([]permit.Credential, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []permit.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SetCredentialState changes a credential's state and its status list entry
// together, so the published list always agrees with the records.
func (tx *Tx) SetCredentialState(ctx context.Context, cti []byte, s permit.CredentialState, reason string) error {
	var list, idx int64
	err := tx.queryRow(ctx, `UPDATE credentials SET state = $2, state_reason = $3, state_at = $4 WHERE cti = $1
		RETURNING status_list, status_idx`, cti, s, reason, tx.now.Unix()).Scan(&list, &idx)
	if err != nil {
		return notFound(err, "no credential %x", cti)
	}
	return tx.SetStatus(ctx, list, idx, StatusOf(s))
}

// Status list entry values (spec/formats.md §5).
const (
	StatusValid     = 0
	StatusInvalid   = 1 // revoked
	StatusSuspended = 2
)

// StatusOf maps a credential state to its status list value.
func StatusOf(s permit.CredentialState) int {
	switch s {
	case permit.CredentialRevoked:
		return StatusInvalid
	case permit.CredentialSuspended:
		return StatusSuspended
	}
	return StatusValid
}

// fillPercent is how full a status list gets before a new one is started.
// Indexes are drawn at random, so near a full list most draws would collide;
// stopping at 90% keeps the expected number of draws under ten.
// Each list's own size counts, so a changed size setting applies from the
// next new list on: fillPercent of size, rounded down.
const fillPercent = 90

// AllocateStatus reserves a random, never used index in the newest status
// list with room, starting a new list of size entries when none has room.
//
// A list's used counts the entries handed out, to know when it is full.
// On SQLite the transaction counts its own entry (there is one writer at a
// time anyway). On PostgreSQL, where the counter row would be held by each
// issuing transaction until it commits, and so make concurrent issuances
// take turns, each process reserves room in blocks in a short transaction
// of its own and hands it out (statusBlocks); used then counts the room
// reserved, which runs ahead of the entries by what processes hold unused
// (at most statusBlock each, lost when a process stops). Either way the
// entries' primary key is what keeps an index from being given twice.
func (tx *Tx) AllocateStatus(ctx context.Context, size int64) (list, idx int64, err error) {
	if size < 16 {
		return 0, 0, errors.New("store: status list size must be at least 16")
	}
	if tx.db.reserve != nil {
		list, size, err = tx.db.blocks.take(ctx, tx.db, size)
		if err == nil {
			tx.statusTaken = append(tx.statusTaken, list)
		}
	} else {
		list, size, err = tx.countStatus(ctx, size)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: status list: %w", err)
	}
	for range 1000 {
		n, err := rand.Int(rand.Reader, big.NewInt(size))
		if err != nil {
			return 0, 0, err
		}
		res, err := tx.exec(ctx, `INSERT INTO status_entries (list_id, idx) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			list, n.Int64())
		if err != nil {
			return 0, 0, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			return list, n.Int64(), nil
		}
	}
	return 0, 0, fmt.Errorf("store: status list %d: no free index found", list)
}

// countStatus counts one entry in the newest list with room, in the
// transaction, and returns that list and its size.
func (tx *Tx) countStatus(ctx context.Context, size int64) (list, listSize int64, err error) {
	err = tx.queryRow(ctx, `UPDATE status_lists SET used = used + 1
		WHERE id = (SELECT MAX(id) FROM status_lists) AND used < size * $1 / 100 RETURNING id, size`,
		fillPercent).Scan(&list, &listSize)
	if errors.Is(err, sql.ErrNoRows) {
		listSize = size
		err = tx.queryRow(ctx, `INSERT INTO status_lists (size, used, created_at) VALUES ($1, 1, $2) RETURNING id`,
			size, tx.now.Unix()).Scan(&list)
	}
	return list, listSize, err
}

// SetStatus sets a status list entry and bumps the list's version, the cheap
// signal that published copies of the list are out of date.
func (tx *Tx) SetStatus(ctx context.Context, list, idx int64, status int) error {
	res, err := tx.exec(ctx, `UPDATE status_entries SET status = $3 WHERE list_id = $1 AND idx = $2 AND status <> $3`,
		list, idx, status)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // unchanged (or unknown: the caller reads the entry from a credential row)
	}
	if _, err = tx.exec(ctx, `UPDATE status_lists SET version = version + 1 WHERE id = $1`, list); err != nil {
		return err
	}
	tx.statusChanged = true
	return nil
}

// ChangeAllStatusLists bumps the version of every status list, so that
// every server signs each list again on its next request (within
// StatusVersionFresh for servers other than this one): after an issuer key
// is revoked, tokens it signed must not be served any more.
func (tx *Tx) ChangeAllStatusLists(ctx context.Context) error {
	if _, err := tx.exec(ctx, `UPDATE status_lists SET version = version + 1`); err != nil {
		return err
	}
	tx.statusChanged = true
	return nil
}

// StatusList is a status list as stored: its size, version and the entries
// that are not 0 (valid).
type StatusList struct {
	ID      int64
	Size    int64
	Version int64
	Entries map[int64]int // idx → status, non-zero entries only
}

// StatusVersionFresh is how long StatusListVersion answers from memory. A
// change committed through this DB is seen at once; one made by another
// process (a replica, the CLI) within this time. Every GET of a status list
// asks, and on PostgreSQL the round trip cost more than the rest of a 304.
const StatusVersionFresh = time.Second

type cachedVersion struct {
	v   int64
	at  time.Time
	gen uint64 // statusChanges when v was read
}

// StatusListVersion returns the version of a list, cheap enough to ask on
// every request: it is read from the database at most once per
// StatusVersionFresh, and again after this DB committed a status change.
func (db *DB) StatusListVersion(ctx context.Context, list int64) (int64, error) {
	gen, now := db.statusChanges.Load(), time.Now()
	if c, ok := db.versions.Load(list); ok {
		cv := c.(*cachedVersion)
		if age := now.Sub(cv.at); cv.gen == gen && age >= 0 && age < StatusVersionFresh {
			return cv.v, nil
		}
	}
	var v int64
	err := db.read.QueryRowContext(ctx, `SELECT version FROM status_lists WHERE id = $1`, list).Scan(&v)
	if err != nil {
		return 0, notFound(err, "no status list %d", list)
	}
	db.versions.Store(list, &cachedVersion{v: v, at: now, gen: gen})
	return v, nil
}

// setEntriesQuery reads the entries of a list that are not 0, through the
// partial index status_entries_set (migration 032): its condition must
// stay the index's, literally, for the planner to use it.
const setEntriesQuery = `SELECT idx, status FROM status_entries WHERE list_id = $1 AND status <> 0`

// LoadStatusList reads a whole list in one consistent snapshot: its size,
// version and the entries that are not 0, which are all it reads.
func (db *DB) LoadStatusList(ctx context.Context, list int64) (*StatusList, error) {
	sl := &StatusList{ID: list, Entries: map[int64]int{}}
	err := db.View(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `SELECT size, version FROM status_lists WHERE id = $1`, list).Scan(&sl.Size, &sl.Version)
		if err != nil {
			return notFound(err, "no status list %d", list)
		}
		rows, err := tx.query(ctx, setEntriesQuery, list)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var idx int64
			var s int
			if err := rows.Scan(&idx, &s); err != nil {
				return err
			}
			sl.Entries[idx] = s
		}
		return rows.Err()
	})
	return sl, err
}

// StatusEntry returns one status list entry, for checks made by the
// authority itself (online verification).
func (db *DB) StatusEntry(ctx context.Context, list, idx int64) (int, error) {
	var s int
	err := db.read.QueryRowContext(ctx, `SELECT status FROM status_entries WHERE list_id = $1 AND idx = $2`,
		list, idx).Scan(&s)
	return s, notFound(err, "no status entry %d/%d", list, idx)
}
