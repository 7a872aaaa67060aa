// Package storetest opens fresh epermit databases for tests: a SQLite file in
// a temporary directory, and a PostgreSQL schema of its own per test.
//
// PostgreSQL is found at $EPERMIT_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot be
// reached the PostgreSQL variant of a test is skipped with a message, except
// when CI=true, where it fails: CI must run both engines.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/epermit/epermit/internal/store"
)

// PostgresURL is the server the PostgreSQL tests use.
func PostgresURL() string {
	if u := os.Getenv("EPERMIT_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Engines lists the engines every store-backed test runs against.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// Each runs fn as a subtest once per engine, each with a fresh, migrated
// database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// Open returns a fresh, migrated database of the given engine, closed (and
// on PostgreSQL dropped) when the test ends.
func Open(t testing.TB, engine store.Engine) *store.DB {
	t.Helper()
	dsn := DSN(t, engine)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	dsns.Store(db, dsn)
	t.Cleanup(func() { dsns.Delete(db) })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return db
}

// DSN returns the address of a fresh, empty database of the given engine:
// a new SQLite file, or a new PostgreSQL schema dropped when the test ends.
func DSN(t testing.TB, engine store.Engine) string {
	t.Helper()
	if engine == store.SQLite {
		return filepath.Join(t.TempDir(), "epermit.db")
	}
	admin, err := sql.Open("pgx", PostgresURL())
	if err == nil {
		err = admin.PingContext(context.Background())
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required when CI=true but %s is unreachable: %v", PostgresURL(), err)
		}
		t.Skipf("skipping PostgreSQL variant: %s unreachable (%v); set EPERMIT_TEST_POSTGRES or start PostgreSQL", PostgresURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "epermit_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// dsns remembers the address of every database Open returned, for SQL.
var dsns sync.Map // *store.DB → string

// SQL returns a plain database/sql handle on the same database as db, which
// Open (or Each) must have returned, for tests that reach under the store:
// to tamper with the audit log as an attacker with write access would, say.
// It is closed when the test ends.
func SQL(t testing.TB, db *store.DB) *sql.DB {
	t.Helper()
	v, ok := dsns.Load(db)
	if !ok {
		t.Fatal("storetest.SQL: db was not opened by storetest.Open")
	}
	dsn := v.(string)
	var raw *sql.DB
	var err error
	if db.Engine() == store.SQLite {
		path := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(dsn)
		raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	} else {
		raw, err = sql.Open("pgx", dsn)
	}
	if err == nil {
		err = raw.PingContext(context.Background())
	}
	if err != nil {
		t.Fatalf("storetest.SQL: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// Replica returns a second store handle on the same database as db, which
// Open (or Each) must have returned: what another `epermit serve` replica
// or a CLI command sharing the database would have. It is closed when the
// test ends.
func Replica(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	v, ok := dsns.Load(db)
	if !ok {
		t.Fatal("storetest.Replica: db was not opened by storetest.Open")
	}
	r, err := store.Open(context.Background(), v.(string))
	if err != nil {
		t.Fatalf("storetest.Replica: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	dsns.Store(r, v)
	t.Cleanup(func() { dsns.Delete(r) })
	return r
}
