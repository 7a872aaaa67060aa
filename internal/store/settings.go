package store

import (
	"context"

	"github.com/epermit/epermit/permit"
)

// Names of the settings `epermit init` records.
const (
	SettingPublicURL = "public_url"
	SettingStatusURL = "status_url"
	SettingIssuerID  = "issuer_id"
	SettingKMS       = "kms" // where new issuer keys are made
)

// Settings returns every recorded setting by name: none in a database not
// yet migrated to hold them, so that read-only commands (--no-migrate) work
// on it as before.
func (tx *Tx) Settings(ctx context.Context) (map[string]string, error) {
	exists := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'settings'`
	if tx.db.engine == Postgres {
		exists = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'settings'`
	}
	m := map[string]string{}
	var n int
	if err := tx.queryRow(ctx, exists).Scan(&n); err != nil || n == 0 {
		return m, err
	}
	rows, err := tx.query(ctx, `SELECT name, value FROM settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		m[name] = value
	}
	return m, rows.Err()
}

// AddSetting records a setting that must not be set yet: a conflict if it
// is, also when a parallel transaction sets it first.
func (tx *Tx) AddSetting(ctx context.Context, name, value string) error {
	res, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return permit.Errorf(permit.ECodeConflict, "setting %s is recorded already", name)
	}
	return nil
}

// SetSetting records a setting, replacing any earlier value.
func (tx *Tx) SetSetting(ctx context.Context, name, value string) error {
	_, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}
