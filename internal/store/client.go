package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/epermit/epermit/permit"
)

const clientColumns = `id, role, name, category, key_hash, key_prefix, disabled_at, created_at, rate_limit`

func scanClient(s scanner) (*permit.Client, error) {
	var c permit.Client
	var disabled sql.NullInt64
	var created int64
	var rate sql.NullFloat64
	if err := s.Scan(&c.ID, &c.Role, &c.Name, &c.Category, &c.KeyHash, &c.KeyPrefix, &disabled, &created, &rate); err != nil {
		return nil, err
	}
	c.RateLimit = rate.Float64
	c.DisabledAt, c.CreatedAt = unixOrZero(disabled), time.Unix(created, 0).UTC()
	return &c, nil
}

// AddClient records a client and sets c.ID. A name already taken for the
// role is a conflict.
func (tx *Tx) AddClient(ctx context.Context, c *permit.Client) error {
	var n int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM clients WHERE role = $1 AND name = $2`, c.Role, c.Name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return permit.Errorf(permit.ECodeConflict, "a %s named %q exists", c.Role, c.Name)
	}
	return tx.queryRow(ctx, `INSERT INTO clients (role, name, category, key_hash, key_prefix, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.Role, c.Name, c.Category, c.KeyHash, c.KeyPrefix, c.CreatedAt.Unix()).Scan(&c.ID)
}

// ClientByKeyHash finds the client whose key hashes to h, locked until
// commit in a read-write transaction (see forUpdate).
func (tx *Tx) ClientByKeyHash(ctx context.Context, h []byte) (*permit.Client, error) {
	c, err := scanClient(tx.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE key_hash = $1`+tx.forUpdate(), h))
	return c, notFound(err, "no client with this key")
}

// ClientByName finds a client of a role by name.
func (tx *Tx) ClientByName(ctx context.Context, role, name string) (*permit.Client, error) {
	c, err := scanClient(tx.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE role = $1 AND name = $2`, role, name))
	return c, notFound(err, "no %s named %q", role, name)
}

// Clients lists the clients of a role by name.
func (tx *Tx) Clients(ctx context.Context, role string) ([]permit.Client, error) {
	rows, err := tx.query(ctx, `SELECT `+clientColumns+` FROM clients WHERE role = $1 ORDER BY name`, role)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []permit.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SetClientKey replaces a client's key.
func (tx *Tx) SetClientKey(ctx context.Context, id int64, hash []byte, prefix string) error {
	_, err := tx.exec(ctx, `UPDATE clients SET key_hash = $2, key_prefix = $3 WHERE id = $1`, id, hash, prefix)
	return err
}

// SetClientDisabled disables a client from the transaction's time, or
// enables it again.
func (tx *Tx) SetClientDisabled(ctx context.Context, id int64, disabled bool) error {
	var at sql.NullInt64
	if disabled {
		at = nullUnix(tx.now)
	}
	_, err := tx.exec(ctx, `UPDATE clients SET disabled_at = $2 WHERE id = $1`, id, at)
	return err
}

// SetClientRate sets a client's own rate limit in requests per second; 0
// returns it to the server's default.
func (tx *Tx) SetClientRate(ctx context.Context, id int64, rate float64) error {
	_, err := tx.exec(ctx, `UPDATE clients SET rate_limit = $2 WHERE id = $1`, id, sql.NullFloat64{Float64: rate, Valid: rate > 0})
	return err
}
