package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A data directory may contain characters that mean something in a file:
// URI; the database must still land exactly at the path given.
func TestSQLitePathIsLiteral(t *testing.T) {
	for _, name := range []string{"a#b", "a?b", "100%", "plain"} {
		path := filepath.Join(t.TempDir(), name, "epermit.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: database not at %s: %v", name, path, err)
		}
	}
}
