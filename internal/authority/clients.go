package authority

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Relying parties (verifiers and institutions) authenticate with an API key
// the authority makes at registration and shows once. Keys are 32 random
// bytes, so a plain SHA-256 is a safe way to store them: there is nothing
// to guess that a slow hash would protect.

// Categories of each client role.
var clientCategories = map[string][]string{
	permit.RoleVerifier:    {"airline", "railway", "bus", "hotel", "other"},
	permit.RoleInstitution: {"bank", "telecom", "internet", "transport"},
	permit.RoleOfficer:     {"officer", "admin"},
}

// keyPrefixes make a key's role visible, e.g. in a leaked-secret scan.
var keyPrefixes = map[string]string{permit.RoleVerifier: "epv_", permit.RoleInstitution: "epi_", permit.RoleOfficer: "epo_"}

// ClientKinds lists the kinds a client of role may be registered as.
func ClientKinds(role string) []string { return slices.Clone(clientCategories[role]) }

func newClientKey(role string) (key string, hash []byte, shown string) {
	b := make([]byte, 32)
	rand.Read(b)
	key = keyPrefixes[role] + base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(key))
	return key, h[:], key[:len(keyPrefixes[role])+6]
}

func checkClient(role, name, category string) error {
	cats, ok := clientCategories[role]
	if !ok {
		return permit.Errorf(permit.ECodeInvalid, "unknown client role %q", role)
	}
	var ps []permit.Problem
	if n := len([]rune(strings.TrimSpace(name))); n == 0 || n > 100 || name != strings.TrimSpace(name) {
		ps = append(ps, permit.Problem{Field: "name", Code: "invalid", Reason: "1 to 100 characters, no leading or trailing spaces"})
	} else if p := permit.CheckFreeText("name", name); p != nil {
		ps = append(ps, *p)
	}
	if !slices.Contains(cats, category) {
		ps = append(ps, permit.Problem{Field: "kind", Code: "invalid", Reason: "one of " + strings.Join(cats, ", ")})
	}
	if ps != nil {
		return &permit.Error{Code: permit.ECodeInvalid, Message: "invalid " + role, Problems: ps}
	}
	return nil
}

// AddClient registers a verifier or an institution and returns it with its
// API key, which is not kept and cannot be shown again.
func (a *Authority) AddClient(ctx context.Context, role, name, category string) (*permit.Client, string, error) {
	if err := checkClient(role, name, category); err != nil {
		return nil, "", err
	}
	var c *permit.Client
	var key string
	err := a.db.Update(ctx, func(tx *store.Tx) (err error) {
		c, key, err = addClient(ctx, tx, role, name, category)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return c, key, nil
}

// addClient registers a checked client in tx, with its audit event.
func addClient(ctx context.Context, tx *store.Tx, role, name, category string) (*permit.Client, string, error) {
	key, hash, prefix := newClientKey(role)
	c := &permit.Client{Role: role, Name: name, Category: category, KeyHash: hash, KeyPrefix: prefix, CreatedAt: tx.Now()}
	if err := tx.AddClient(ctx, c); err != nil {
		return nil, "", err
	}
	return c, key, tx.Audit(ctx, event(ctx, role+".add", clientSubject(c), map[string]string{"kind": category, "key": prefix}))
}

func clientSubject(c *permit.Client) string { return c.Role + ":" + c.Name }

// Clients lists the clients of a role.
func (a *Authority) Clients(ctx context.Context, role string) ([]permit.Client, error) {
	var cs []permit.Client
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		cs, err = tx.Clients(ctx, role)
		return err
	})
	return cs, err
}

// RotateClientKey gives a client a new API key; the old one stops working
// at once, and so do console sessions signed in with it.
func (a *Authority) RotateClientKey(ctx context.Context, role, name string) (string, error) {
	key, hash, prefix := newClientKey(role)
	defer a.clientKeys.invalidate() // after the commit: the old key stops working here at once
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.ClientByName(ctx, role, name)
		if err != nil {
			return err
		}
		if err := tx.SetClientKey(ctx, c.ID, hash, prefix); err != nil {
			return err
		}
		if err := tx.DeleteOfficerSessionsOf(ctx, c.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, role+".rotate_key", clientSubject(c), map[string]string{"old": c.KeyPrefix, "key": prefix}))
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// SetClientDisabled disables a client (its key stops working) or enables it
// again.
func (a *Authority) SetClientDisabled(ctx context.Context, role, name string, disabled bool) error {
	action := role + ".enable"
	if disabled {
		action = role + ".disable"
	}
	defer a.clientKeys.invalidate() // after the commit
	return a.db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.ClientByName(ctx, role, name)
		if err != nil {
			return err
		}
		if c.Disabled() == disabled {
			return nil
		}
		if err := tx.SetClientDisabled(ctx, c.ID, disabled); err != nil {
			return err
		}
		if disabled { // enabling again must not revive them
			if err := tx.DeleteOfficerSessionsOf(ctx, c.ID); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, event(ctx, action, clientSubject(c), nil))
	})
}

// AuthenticateClient returns the enabled client of the role whose API key
// this is. Every failure is the same `unauthorized`, so the answer tells
// nothing about which keys exist. A key that authenticated is remembered
// for Config.ClientKeyCache (clientCache): changes made through this
// Authority apply at once, those made by another process within that time.
func (a *Authority) AuthenticateClient(ctx context.Context, role, key string) (*permit.Client, error) {
	h, err := clientKeyHash(role, key)
	if err != nil {
		return nil, err
	}
	if c := a.clientKeys.get(h, role, a.now()); c != nil {
		return c, nil
	}
	gen := a.clientKeys.generation()
	var c *permit.Client
	err = a.db.View(ctx, func(tx *store.Tx) (err error) {
		c, err = clientByHash(ctx, tx, role, h)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.clientKeys.put(h, c, gen, a.now())
	return c, nil
}

// clientByKey is AuthenticateClient in the caller's transaction, without
// the cache.
func clientByKey(ctx context.Context, tx *store.Tx, role, key string) (*permit.Client, error) {
	h, err := clientKeyHash(role, key)
	if err != nil {
		return nil, err
	}
	return clientByHash(ctx, tx, role, h)
}

func deniedClient(role string) error {
	return permit.Errorf(permit.ECodeUnauthorized, "a valid %s API key is required", role)
}

// clientKeyHash is the SHA-256 of a key that could be one of role's.
func clientKeyHash(role, key string) ([sha256.Size]byte, error) {
	if !strings.HasPrefix(key, keyPrefixes[role]) || len(key) > 100 {
		return [sha256.Size]byte{}, deniedClient(role)
	}
	return sha256.Sum256([]byte(key)), nil
}

// clientByHash finds the enabled client of role whose key hashes to h.
func clientByHash(ctx context.Context, tx *store.Tx, role string, h [sha256.Size]byte) (*permit.Client, error) {
	c, err := tx.ClientByKeyHash(ctx, h[:])
	switch {
	case permit.ErrorCode(err) == permit.ECodeNotFound:
		return nil, deniedClient(role)
	case err != nil:
		return nil, err
	case c.Role != role || c.Disabled():
		return nil, deniedClient(role)
	}
	return c, nil
}

// MaxClientRate bounds a client's own rate limit, in requests per second:
// above it a limit no longer protects anything.
const MaxClientRate = 1_000_000

// SetClientRate gives a client its own rate limit in requests per second
// (for a gate hall or a bank's back office that sends more than the
// server's per-client default), or returns it to that default with 0. The
// change is audited with the old and new rates.
func (a *Authority) SetClientRate(ctx context.Context, role, name string, rate float64) error {
	if !(rate >= 0 && rate <= MaxClientRate) { // also refuses NaN
		return &permit.Error{Code: permit.ECodeInvalid, Message: "invalid rate",
			Problems: []permit.Problem{{Field: "rate", Code: "invalid", Reason: "0 (the server's default) to 1000000 requests per second"}}}
	}
	defer a.clientKeys.invalidate() // after the commit
	return a.db.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.ClientByName(ctx, role, name)
		if err != nil {
			return err
		}
		if c.RateLimit == rate {
			return nil
		}
		if err := tx.SetClientRate(ctx, c.ID, rate); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, role+".set_rate", clientSubject(c), map[string]string{
			"old": rateText(c.RateLimit), "rate": rateText(rate)}))
	})
}

// rateText is a rate as the audit log shows it: "default" for 0.
func rateText(r float64) string {
	if r == 0 {
		return "default"
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}
