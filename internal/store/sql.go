package store

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/permit"
)

// Helpers every entity file uses: scanning, placeholders, nullable
// times, and "no row changed".

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(...any) error }

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// mustAffect turns "no row changed" into not_found.
func mustAffect(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return permit.Errorf(permit.ECodeNotFound, "no "+format, args...)
	}
	return nil
}

// unixOrZero reads a nullable Unix time; NULL is the zero time.
func unixOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

// nullUnix stores t as a nullable Unix time; the zero time is NULL.
func nullUnix(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Unix(), Valid: true}
}

// nullBytes stores b as nullable bytes; nil or empty is NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
