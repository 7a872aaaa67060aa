package store

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens a SQLite file in WAL mode with foreign keys on. Writes go
// through a single connection that starts transactions with BEGIN IMMEDIATE,
// so writers queue in Go, in the order they came (DB.writeTurn), instead of
// failing with SQLITE_BUSY; reads use a separate pool, which WAL lets run
// beside the writer.
func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	params := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
		params.Add("_pragma", p)
	}
	params.Set("_txlock", "immediate")
	// The path goes into a file: URI, where ? # and % have meanings of
	// their own; SQLite decodes the escapes.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path) + "?"
	write, err := sql.Open("sqlite", uri+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	params.Set("_txlock", "deferred")
	params.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", uri+params.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	read.SetMaxOpenConns(4)
	return &DB{engine: SQLite, write: write, read: read, now: time.Now, writeTurn: make(chan struct{}, 1)}, nil
}

// retryable reports whether a failed transaction may succeed if run again.
func (db *DB) retryable(err error) bool {
	if db.engine == Postgres {
		return pgRetryable(err)
	}
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY)
}
