package store_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// a version-2 SQLite database with data upgrades to the newest
// schema without losing rows.
func TestSQLiteUpgradeFromV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"001_init.sql", "002_clients.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations/sqlite", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatal(f, err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, '001_init.sql', 'x'), (2, '002_clients.sql', 'x')`,
		`INSERT INTO persons (id, name, latin_name, sex, birth_date, region, phone, portrait) VALUES (1, 'A', 'A', 1, '1990-01-01', 'HK', '+85212345678', x'00')`,
		`INSERT INTO travel_permits VALUES (1, 'H12345678', 1, 0, '2020-01-01', '2030-01-01', 'valid')`,
		`INSERT INTO issuer_keys VALUES ('k1', 'file:x', x'00', 'active', 0, NULL)`,
		`INSERT INTO status_lists (id, size, used, created_at) VALUES (1, 16, 4, 0)`,
		`INSERT INTO status_entries VALUES (1, 3, 1), (1, 7, 0), (1, 8, 0), (1, 9, 0)`,
		`INSERT INTO applications (id, person_id, kind, doc_type, doc_number, reason, month, created_at, channel, idempotency_key)
			VALUES (1, 1, 1, 1, 'H12345678', 1, '2026-11', 1, 'online', 'k'), (2, 1, 1, 1, 'H12345678', 1, '2026-11', 2, 'counter', NULL)`,
		`INSERT INTO credentials VALUES (x'01', 1, 1, 1, 'k1', 1, 1, 9999999999, x'00', 1, 3, 'revoked', 'r', 5, x'aa'),
			(x'02', 1, 1, 2, 'k1', 2, 2, 9999999999, x'00', 1, 7, 'active', '', NULL, x'bb')`,
		// Two live linkage proofs for one holder key, from before migration 008.
		`INSERT INTO credentials VALUES (x'03', 10, 1, NULL, 'k1', 3, 3, 9999999999, x'01', 1, 8, 'active', '', NULL, x'cc'),
			(x'04', 10, 1, NULL, 'k1', 4, 4, 9999999999, x'01', 1, 9, 'active', '', NULL, x'dd')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v (applied %v)", err, applied)
	}
	t.Logf("applied %v", applied)
	db.View(ctx, func(tx *store.Tx) error {
		cs, err := tx.Credentials(ctx, 1, permit.TemporaryEPermit, false)
		if err != nil || len(cs) != 2 {
			t.Errorf("credentials after upgrade: %d, %v", len(cs), err)
		}
		n, err := tx.CountApplications(ctx, 1, permit.TemporaryEPermit, "2026-11")
		if err != nil || n != 2 {
			t.Errorf("CountApplications after upgrade: %d, %v", n, err)
		}
		ls, err := tx.Credentials(ctx, 1, permit.LinkageProofKind, false)
		if err != nil || len(ls) != 2 || ls[0].ID[0] != 4 || ls[0].State != permit.CredentialActive ||
			ls[1].State != permit.CredentialRevoked || ls[1].StateReason != "superseded by 04" {
			t.Errorf("linkage proofs after upgrade: %+v, %v", ls, err)
		}
		// Migration 031 rebuilt issuer_keys under the credentials that refer to it.
		if k, err := tx.IssuerKey(ctx, "k1"); err != nil || k.State != permit.KeyActive || k.Certificate != nil {
			t.Errorf("issuer key after upgrade: %+v, %v", k, err)
		}
		c, err := tx.CredentialByIdempotencyKey(ctx, "k")
		if err != nil || c.ID[0] != 1 {
			t.Errorf("idempotency after upgrade: %v, %v", c, err)
		}
		return nil
	})
	// …and foreign keys still hold: a credential of an unknown key is refused.
	raw, err = sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO status_entries VALUES (1, 10, 0)`); err != nil {
		t.Fatal(err)
	}
	copyAs := func(kid string) error {
		_, err := raw.Exec(`INSERT INTO credentials SELECT x'09', kind, person_id, NULL, $1, issued_at, not_before, expires_at,
			holder_key, status_list, 10, state, state_reason, state_at, token FROM credentials WHERE cti = x'02'`, kid)
		return err
	}
	if err := copyAs("k-unknown"); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("after migration 031, a credential of an unknown issuer key: %v, want a foreign key failure", err)
	}
	if err := copyAs("k1"); err != nil {
		t.Errorf("after migration 031, a credential of k1: %v", err)
	}
	var dangling int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&dangling); err != nil || dangling != 0 {
		t.Errorf("foreign key check after upgrade: %d rows, %v", dangling, err)
	}
	if s, err := db.StatusEntry(ctx, 1, 3); err != nil || s != 1 {
		t.Errorf("status entry after upgrade: %d, %v", s, err)
	}
	if s, err := db.StatusEntry(ctx, 1, 8); err != nil || s != 1 {
		t.Errorf("superseded linkage proof's status entry after upgrade: %d, %v", s, err)
	}
	if ev, err := db.AuditEvents(ctx, "cti:03", 0, 10); err != nil || len(ev) != 1 || ev[0].Action != "credential.supersede" {
		t.Errorf("audit of the upgrade's supersession: %+v, %v", ev, err)
	}
	// The chain holds; the rows written by hand above have no events, which
	// the cross-check of facts reports.
	var m *audit.Missing
	if _, err := db.VerifyAudit(ctx, nil); !errors.As(err, &m) {
		t.Errorf("VerifyAudit after upgrade = %v, want the hand-written credentials reported as missing events", err)
	}
}
