package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// openPostgres opens a pool on a PostgreSQL URL. Any libpq parameter works in
// the URL, including search_path (the tests give each run its own schema).
func openPostgres(dsn string) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(8)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	// Status list room is reserved outside the issuing transactions, which
	// hold pool connections: a pool of its own, so a reservation never
	// waits for a connection they hold. One connection, opened on first use.
	reserve, err := sql.Open("pgx", dsn)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	reserve.SetMaxOpenConns(1)
	reserve.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{engine: Postgres, write: pool, read: pool, reserve: reserve, now: time.Now}, nil
}

// pgRetryable is true for serialization failures and deadlocks.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
