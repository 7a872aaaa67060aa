package store

import (
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/permit"
)

//go:embed migrations
var migrations embed.FS

// migration is one numbered schema step, e.g. migrations/sqlite/001_init.sql.
type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.engine))
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration %s is not named NNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate brings the schema up to the newest version embedded in the binary,
// each migration in its own transaction, and returns the names it applied.
// Several replicas may start at once: on PostgreSQL an advisory lock makes
// them take turns.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	ms, err := db.migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	err = db.Update(ctx, func(tx *Tx) error {
		if db.engine == Postgres {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(7420150)`); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if before := beforeMigration[m.version]; before != nil {
				if err := before(ctx, tx); err != nil {
					return fmt.Errorf("store: before migration %s: %w", m.name, err)
				}
			}
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, tx.now.UTC().Format("2006-01-02T15:04:05Z")); err != nil {
				return err
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	return applied, err
}

// beforeMigration holds the data fixes a migration needs first, run in its
// transaction, where they can be audited (SQL alone cannot seal events).
var beforeMigration = map[int]func(context.Context, *Tx) error{
	8: supersedeDuplicateLinkageProofs,
}

// supersedeDuplicateLinkageProofs revokes, before migration 008's unique
// index, every unrevoked linkage proof that a newer one for the same person
// and holder key would have superseded had the rule been in force, with
// the audit event a supersession has.
func supersedeDuplicateLinkageProofs(ctx context.Context, tx *Tx) error {
	rows, err := tx.query(ctx, `SELECT cti, person_id, holder_key FROM credentials
		WHERE kind = $1 AND state <> 'revoked' ORDER BY person_id, holder_key, issued_at DESC, cti`, permit.LinkageProofKind)
	if err != nil {
		return err
	}
	type proof struct {
		cti, holder []byte
		person      int64
	}
	var all []proof
	for rows.Next() {
		var p proof
		if err := rows.Scan(&p.cti, &p.person, &p.holder); err != nil {
			rows.Close()
			return err
		}
		all = append(all, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 0; i < len(all); {
		newest := all[i]
		by := hex.EncodeToString(newest.cti)
		for i++; i < len(all) && all[i].person == newest.person && bytes.Equal(all[i].holder, newest.holder); i++ {
			if err := tx.SetCredentialState(ctx, all[i].cti, permit.CredentialRevoked, "superseded by "+by); err != nil {
				return err
			}
			details, _ := json.Marshal(map[string]string{"by": by, "cause": "upgrade"})
			if err := tx.Audit(ctx, audit.Event{Actor: "system", Action: "credential.supersede",
				Subject: "cti:" + hex.EncodeToString(all[i].cti), Details: details}); err != nil {
				return err
			}
		}
	}
	return nil
}

// SchemaVersion returns the newest applied migration, 0 for an empty database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if db.engine == Postgres {
		exists = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`
	}
	var v int
	if err := db.read.QueryRowContext(ctx, exists).Scan(&v); err != nil || v == 0 {
		return 0, err // a database never migrated is at version 0
	}
	err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
