// Package store persists epermit's registry, credentials, status lists,
// issuer key metadata and audit log, in SQLite (the embedded default) or
// PostgreSQL (for several `epermit serve` replicas sharing one database).
//
// Both engines run the same plain SQL through database/sql: the drivers
// (modernc.org/sqlite and pgx) accept the same $N placeholders, and where the
// engines differ (column types, migrations, how to open and tune a
// connection) the difference lives in sqlite.go, postgres.go and the
// per-engine migration folders. Every state change runs in one transaction
// through DB.Update, together with its audit event.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/permit"
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is an open epermit database.
type DB struct {
	engine Engine
	write  *sql.DB // transactions that change state
	read   *sql.DB // reads outside transactions; the same pool on PostgreSQL
	now    func() time.Time

	// Prepared statements by pool and SQL text, for SQLite only: its driver
	// would parse every statement on every call, while pgx keeps its own
	// per-connection cache.
	stmts sync.Map // stmtKey → *sql.Stmt

	// writeTurn, on SQLite, makes writers take the one write connection in
	// the order they asked for it: database/sql hands a freed connection to
	// a random waiter, which under a burst leaves some requests waiting many
	// turns (a long p99). Goroutines blocked sending on a channel are woken
	// first come, first served.
	writeTurn chan struct{}

	// statements counts the statements transactions ran (see Statements).
	statements atomic.Int64

	// statusChanges counts committed transactions of this DB that changed a
	// status entry; versions caches StatusListVersion per list, each answer
	// good while statusChanges stays what it was and for StatusVersionFresh.
	statusChanges atomic.Uint64
	versions      sync.Map // list id → *cachedVersion

	// On PostgreSQL, status list room is reserved in blocks (statusBlock)
	// on a connection of its own, reserve, so that concurrent issuances do
	// not queue on the list's counter row (see AllocateStatus).
	reserve *sql.DB
	blocks  statusBlocks

	// auditHeadApart writes the audit head in a statement of its own on
	// PostgreSQL too, as on SQLite (benchmarks only).
	auditHeadApart bool
}

// Statements returns how many SQL statements transactions have run on db
// so far. Tests compare it across code paths that must do the same work.
func (db *DB) Statements() int64 { return db.statements.Load() }

type stmtKey struct {
	pool *sql.DB
	sql  string
}

// Open opens the database named by dsn: a postgres:// or postgresql:// URL
// for PostgreSQL, anything else a SQLite file path (created if missing).
// It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var db *DB
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err = openPostgres(dsn)
	} else {
		db, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	// Turning a new SQLite file to WAL takes a lock that does not wait
	// (busy_timeout does not apply), so processes opening one file at once
	// (a server and `epermit migrate`, say) can meet SQLITE_BUSY: retry a
	// while.
	for try := 0; ; try++ {
		err = db.Ping(ctx)
		if err == nil || !db.retryable(err) || try == 50 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Engine reports which engine db runs on.
func (db *DB) Engine() Engine { return db.engine }

// SetClock replaces the clock used for audit timestamps (tests only).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	err := db.write.Close()
	if db.reserve != nil {
		err = errors.Join(err, db.reserve.Close())
	}
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %s unreachable: %w", db.engine, err)
	}
	return nil
}

// Tx is a transaction. Its methods are the store's ports; they are valid only
// inside the function given to Update or View.
type Tx struct {
	tx       *sql.Tx
	db       *DB
	pool     *sql.DB
	now      time.Time
	readOnly bool

	// Statements this transaction ran unprepared, to prepare once it has
	// given back its connection (the SQLite writer has only one).
	unprepared []string

	// Events appended by Audit, sealed and written at commit.
	auditPending []audit.Event

	// Lists this transaction took status list room from in DB.blocks,
	// given back if it does not commit.
	statusTaken []int64

	// statusChanged: the transaction changed a status entry (SetStatus).
	statusChanged bool
}

// Now is the time the transaction started, used for the audit timestamp and
// for anything else the change records as "now".
func (tx *Tx) Now() time.Time { return tx.now }

// Update runs fn in a read-write transaction and commits if fn returns nil.
// On PostgreSQL a transaction that loses a deadlock or serialization race is
// retried, so fn must not have effects outside the transaction.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.run(ctx, db.write, false, fn)
		if err == nil || attempt == 4 || !db.retryable(err) {
			return err
		}
	}
}

// View runs fn in a read-only transaction that sees one consistent snapshot
// (on PostgreSQL, repeatable read: read committed would give each
// statement a snapshot of its own).
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.read, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*Tx) error) error {
	if db.writeTurn != nil && pool == db.write {
		select {
		case db.writeTurn <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("store: begin: %w", ctx.Err())
		}
		defer func() { <-db.writeTurn }() // after commit and the statements' preparation
	}
	opts := &sql.TxOptions{}
	if readOnly && db.engine == Postgres {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, db: db, pool: pool, now: db.now(), readOnly: readOnly}
	defer func() { db.prepare(ctx, pool, tx.unprepared) }()
	committed := false
	defer func() {
		if !committed {
			db.blocks.giveBack(tx.statusTaken) // its entries were rolled back
		}
	}()
	// Rolling back after Commit is a no-op; the deferred call also ends the
	// transaction when fn panics, which would otherwise hold the write lock.
	defer sqlTx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.writeAudit(ctx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	committed = true
	if tx.statusChanged {
		db.statusChanges.Add(1) // this process serves the change at once
	}
	return nil
}

// Queries run through the transaction; these shorten the call sites and
// use prepared statements where that pays (see DB.stmts).
func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tx.db.statements.Add(1)
	if st := tx.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, q, args...)
}
func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	tx.db.statements.Add(1)
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, q, args...)
}
func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	tx.db.statements.Add(1)
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, q, args...)
}

// forUpdate ends a single-row read of a row the transaction may change: on
// PostgreSQL, in a read-write transaction, it locks the row until commit,
// so that two transactions cannot both read, decide and write over each
// other; a SQLite write transaction holds the database's lock already.
func (tx *Tx) forUpdate() string {
	if tx.db.engine == Postgres && !tx.readOnly {
		return ` FOR UPDATE`
	}
	return ""
}

// stmt returns the transaction's handle on a cached prepared statement, or
// nil to run q directly: on PostgreSQL, for multi-statement text
// (migrations), and the first time q is seen, since preparing needs a free
// connection.
func (tx *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.db.engine != SQLite || strings.Contains(q, ";") {
		return nil
	}
	st, ok := tx.db.stmts.Load(stmtKey{tx.pool, q})
	if !ok {
		tx.unprepared = append(tx.unprepared, q)
		return nil
	}
	return tx.tx.StmtContext(ctx, st.(*sql.Stmt))
}

// prepare caches statements a finished transaction ran unprepared.
func (db *DB) prepare(ctx context.Context, pool *sql.DB, queries []string) {
	for _, q := range queries {
		key := stmtKey{pool, q}
		if _, ok := db.stmts.Load(key); ok {
			continue
		}
		if st, err := pool.PrepareContext(ctx, q); err == nil {
			if _, loaded := db.stmts.LoadOrStore(key, st); loaded {
				st.Close()
			}
		}
	}
}

// notFound turns sql.ErrNoRows into the domain's not_found error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return permit.Errorf(permit.ECodeNotFound, format, args...)
	}
	return err
}

// Audit appends an event to the audit log in this transaction, so the event
// exists exactly when the change it records does. Events are sealed into
// the chain and written at commit: the chain's head row is locked then, the
// last lock the transaction takes, so concurrent transactions queue on it
// rather than fork the chain, and it never waits in a cycle with the rows
// the change locks. Events go many to a statement, which keeps a
// transaction of many (a registry import) to few round trips on PostgreSQL.
func (tx *Tx) Audit(ctx context.Context, e audit.Event) error {
	e.At = tx.now
	tx.auditPending = append(tx.auditPending, e)
	return nil
}

// auditBatch is how many events one INSERT writes at most. On SQLite
// smaller remainders go one by one, so only two statement texts exist to
// prepare (statements are local calls there); on PostgreSQL a remainder
// is one statement too, since each is a round trip under the audit head's
// lock (a group commit of linkage checks writes several events).
const auditBatch = 100

var auditInserts = map[int]string{1: auditInsert(1), auditBatch: auditInsert(auditBatch)}

// auditInsertsWithHead, on PostgreSQL, write a transaction's last events
// and the chain's new head in one statement: one round trip fewer while
// the head is locked, which every audited change waits for.
var auditInsertsWithHead = map[int]string{1: auditInsertWithHead(1), auditBatch: auditInsertWithHead(auditBatch)}

func auditInsertWithHead(rows int) string {
	return `WITH events AS (` + auditInsert(rows) + `) UPDATE audit_head SET seq = $` + strconv.Itoa(8*rows+1) +
		`, hash = $` + strconv.Itoa(8*rows+2) + ` WHERE id = 1`
}

func auditInsert(rows int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_events (seq, at, actor, action, subject, details, prev_hash, hash) VALUES `)
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(" + placeholders(8*i+1, 8) + ")")
	}
	return q.String()
}

// writeAudit seals the events of Audit into the chain, under the head's
// lock, and writes them and the new head.
func (tx *Tx) writeAudit(ctx context.Context) error {
	if len(tx.auditPending) == 0 {
		return nil
	}
	// An UPDATE, not a SELECT … FOR UPDATE: the same SQL locks on both engines.
	var seq int64
	var hash []byte
	if err := tx.queryRow(ctx, `UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash`).Scan(&seq, &hash); err != nil {
		return fmt.Errorf("store: audit head: %w", err)
	}
	for i := range tx.auditPending {
		e := &tx.auditPending[i]
		e.Seal(seq, hash)
		seq, hash = e.Seq, e.Hash
	}
	headWritten := false
	for es := tx.auditPending; len(es) > 0; {
		n := min(len(es), auditBatch)
		if n < auditBatch && tx.db.engine == SQLite {
			n = 1 // SQLite prepares its statements: two texts only
		}
		args := make([]any, 0, 8*n+2)
		for _, e := range es[:n] {
			args = append(args, e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Subject, []byte(e.Details), e.PrevHash, e.Hash)
		}
		q, ok := auditInserts[n]
		if !ok {
			q = auditInsert(n)
		}
		if withHead := tx.db.engine == Postgres && !tx.db.auditHeadApart && n == len(es); withHead {
			if q, ok = auditInsertsWithHead[n]; !ok {
				q = auditInsertWithHead(n)
			}
			args, headWritten = append(args, seq, hash), true
		}
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: audit append: %w", err)
		}
		es = es[n:]
	}
	tx.auditPending = nil
	if headWritten {
		return nil
	}
	if _, err := tx.exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, hash); err != nil {
		return fmt.Errorf("store: audit head: %w", err)
	}
	return nil
}

// VerifyAudit reads the whole audit log in order and checks its chain, its
// head and, if given, an anchor recorded by an earlier run, then that every
// fact in the store has its event (see CheckAudit). It returns the head
// reached (its Seq is the number of events checked) and, if the log was
// altered, an *audit.Problem naming the first altered place or an
// *audit.Missing naming facts without their events.
func (db *DB) VerifyAudit(ctx context.Context, anchor *audit.Anchor) (audit.Anchor, error) {
	r, err := db.CheckAudit(ctx, anchor)
	return r.Head, err
}

// CheckAudit is VerifyAudit, also returning what it cross-checked: every
// credential (issued; revoked; suspended) and every API client (added,
// its current key, disabled) in the store, read in the same snapshot as
// the log, must have its event, or the log was cut short (a TRUNCATE, or
// events deleted and the head rewound). A broken chain is reported first.
func (db *DB) CheckAudit(ctx context.Context, anchor *audit.Anchor) (audit.Report, error) {
	v := audit.Verifier{Anchor: anchor}
	cov := audit.NewCoverage()
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_events ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e audit.Event
			var at int64
			var details []byte
			if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash); err != nil {
				return err
			}
			e.At = time.UnixMicro(at).UTC()
			if len(details) > 0 {
				e.Details = details
			}
			if err := v.Next(&e); err != nil {
				return err
			}
			cov.Add(&e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var headSeq int64
		var headHash []byte
		if err := tx.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
			return err
		}
		if err := v.Finish(headSeq, headHash); err != nil {
			return err
		}
		return auditFacts(ctx, tx, cov)
	})
	return audit.Report{Head: v.Head(), Facts: cov.Facts()}, err
}

// auditFacts feeds the store's credentials and clients to cov.
func auditFacts(ctx context.Context, tx *Tx, cov *audit.Coverage) error {
	rows, err := tx.query(ctx, `SELECT cti, state FROM credentials`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var cti []byte
		var state string
		if err := rows.Scan(&cti, &state); err != nil {
			rows.Close()
			return err
		}
		cov.Credential(cti, state)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.query(ctx, `SELECT role, name, key_prefix, disabled_at FROM clients`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var role, name, prefix string
		var disabled sql.NullInt64
		if err := rows.Scan(&role, &name, &prefix, &disabled); err != nil {
			return err
		}
		cov.Client(role, name, prefix, disabled.Valid)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return cov.Err()
}

// AuditEvents returns up to limit events, newest first, whose subject is
// subject (all subjects when it is empty) and, unless before is 0, whose
// sequence number is below before: the next page starts before the last
// event of this one. For officers' audit trails.
func (db *DB) AuditEvents(ctx context.Context, subject string, before int64, limit int) ([]audit.Event, error) {
	return db.SearchAudit(ctx, AuditFilter{Subject: subject, Before: before, Limit: limit})
}

// LastAuditDetails returns the details of the newest committed audit
// event of action, nil if there is none. In a read-write transaction on
// PostgreSQL it first takes a lock on the action until commit, so that a
// decision on it (record a new event or not) is not interleaved with
// another transaction's. (A SQLite write transaction holds the database's
// lock.)
func (tx *Tx) LastAuditDetails(ctx context.Context, action string) (json.RawMessage, error) {
	if tx.db.engine == Postgres && !tx.readOnly {
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "audit-action:"+action); err != nil {
			return nil, err
		}
	}
	var details []byte
	err := tx.queryRow(ctx, `SELECT details FROM audit_events WHERE action = $1 ORDER BY seq DESC LIMIT 1`, action).Scan(&details)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return details, err
}

// AuditFilter selects audit events; its zero fields select everything.
type AuditFilter struct {
	Subject string    // exactly this subject
	Action  string    // exactly this action, or every action under it when it ends in "." ("credential.")
	Since   time.Time // committed at or after this time
	Before  int64     // sequence number below this (the next page)
	Limit   int       // at most this many events
}

// SearchAudit returns the events f selects, newest first.
func (db *DB) SearchAudit(ctx context.Context, f AuditFilter) ([]audit.Event, error) {
	var since int64
	if !f.Since.IsZero() {
		since = f.Since.UnixMicro()
	}
	rows, err := db.read.QueryContext(ctx, `SELECT seq, at, actor, action, subject, details, prev_hash, hash
		FROM audit_events WHERE ($1 = '' OR subject = $1) AND (CAST($2 AS BIGINT) = 0 OR seq < CAST($2 AS BIGINT))
		AND (CAST($4 AS TEXT) = '' OR action = CAST($4 AS TEXT)
			OR (substr(CAST($4 AS TEXT), length(CAST($4 AS TEXT)), 1) = '.' AND substr(action, 1, length(CAST($4 AS TEXT))) = CAST($4 AS TEXT)))
		AND at >= CAST($5 AS BIGINT)
		ORDER BY seq DESC LIMIT $3`,
		f.Subject, f.Before, f.Limit, f.Action, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var at int64
		var details []byte
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		if len(details) > 0 {
			e.Details = details
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
