package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Defaults for publishing status lists (Config.StatusTTL, StatusValidity).
const (
	// DefaultStatusTTL is the token's ttl: how long after its iat verifiers
	// may use a copy before fetching again. It bounds how long a revocation
	// takes to reach an online gate.
	DefaultStatusTTL = 5 * time.Minute
	// DefaultStatusValidity is exp − iat of a token: how long a verifier
	// that cannot fetch a newer copy may still trust (up to its own maximum
	// age) what it has.
	DefaultStatusValidity = 24 * time.Hour
)

// StatusForm is one of the two status list token forms of spec §5.
type StatusForm int

// The token forms.
const (
	StatusCWT StatusForm = iota // application/statuslist+cwt, the default
	StatusJWT                   // application/statuslist+jwt
)

// String is the form's short name, as used in ETags.
func (f StatusForm) String() string {
	if f == StatusJWT {
		return "jwt"
	}
	return "cwt"
}

// MediaType is the form's Content-Type.
func (f StatusForm) MediaType() string {
	if f == StatusJWT {
		return credential.StatusListJWTType
	}
	return credential.StatusListCWTType
}

// StatusToken is a signed status list token as published.
type StatusToken struct {
	List     int64
	Form     StatusForm
	Version  int64 // the list's version in the store when it was signed
	Token    []byte
	IssuedAt time.Time
	Expiry   time.Time
	TTL      time.Duration
	// ETag changes whenever the bytes do: list, version, form and iat (a
	// token re-signed with the same entries has a later iat and exp, which
	// a client must not be told it already has).
	ETag string
	// MaxAge is how much longer, as of the request, this token is served
	// before it is signed again: the HTTP max-age, so that no cache in
	// front of the authority serves it longer than the authority would.
	MaxAge time.Duration
}

// publisher caches the signed tokens of each list, both forms together:
// a list changes rarely compared with how often it is fetched, and signing
// a large list means compressing megabytes.
type publisher struct {
	mu    sync.Mutex
	lists map[int64]*publishedList
}

type publishedList struct {
	mu     sync.Mutex // held while signing, so one request re-signs and the rest wait for it
	tokens atomic.Pointer[[2]*StatusToken]
}

func (p *publisher) list(n int64) *publishedList {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lists == nil {
		p.lists = map[int64]*publishedList{}
	}
	l, ok := p.lists[n]
	if !ok {
		l = &publishedList{}
		p.lists[n] = l
	}
	return l
}

// StatusResignAfter is the age (now − iat) at which a served token is
// signed again even when its list has not changed: half the ttl. Verifiers
// take a list's age from its iat and use a copy for one ttl (spec §4 check
// 12), so keeping iat this fresh leaves every copy a verifier fetches at
// least half a ttl of use, and a gate whose clock runs a little ahead does
// not fetch a token already too old for it. Re-signing re-reads, compresses
// and signs the list; docs/status.md gives the cost.
func (a *Authority) StatusResignAfter() time.Duration { return a.cfg.StatusTTL / 2 }

// usable reports whether a cached token may still be served at now: it
// reflects at least version v of the list and is younger than resignAfter.
func (t *StatusToken) usable(v int64, now time.Time, resignAfter time.Duration) bool {
	return t != nil && t.Version >= v && !now.Before(t.IssuedAt) && now.Before(t.IssuedAt.Add(resignAfter))
}

// served is the token as served at now, with its remaining max-age.
func (t *StatusToken) served(now time.Time, resignAfter time.Duration) *StatusToken {
	s := *t
	s.MaxAge = max(t.IssuedAt.Add(resignAfter).Sub(now), 0)
	return &s
}

// StatusListToken returns the signed token of status list n in the given
// form. It asks the store for the list's version on every call (one indexed
// read) and re-signs when the version moved or the cached token is
// StatusResignAfter old, so a change made by any replica or by the CLI
// against the same store shows on the very next fetch, and an unchanged
// list's iat is never older than StatusResignAfter. An unknown list is
// not_found.
func (a *Authority) StatusListToken(ctx context.Context, n int64, form StatusForm) (*StatusToken, error) {
	if form != StatusCWT && form != StatusJWT {
		return nil, fmt.Errorf("authority: unknown status list form %d", form)
	}
	v, err := a.db.StatusListVersion(ctx, n)
	if err != nil {
		return nil, err
	}
	resign := a.StatusResignAfter()
	pl := a.pub.list(n)
	now := a.now()
	if ts := pl.tokens.Load(); ts != nil && ts[form].usable(v, now, resign) {
		return ts[form].served(now, resign), nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	now = a.now()
	if ts := pl.tokens.Load(); ts != nil && ts[form].usable(v, now, resign) {
		return ts[form].served(now, resign), nil // signed by the request we waited for
	}
	ts, err := a.signStatusList(ctx, n)
	if err != nil {
		return nil, err
	}
	pl.tokens.Store(ts)
	return ts[form].served(a.now(), resign), nil
}

// signStatusList reads list n in one snapshot and signs it in both forms
// with the active issuer key.
func (a *Authority) signStatusList(ctx context.Context, n int64) (*[2]*StatusToken, error) {
	sl, err := a.db.LoadStatusList(ctx, n)
	if err != nil {
		return nil, err
	}
	list, err := credential.NewStatusList(int(sl.Size))
	if err != nil {
		return nil, err
	}
	for idx, s := range sl.Entries {
		if err := list.Set(uint64(idx), credential.StatusValue(s)); err != nil {
			return nil, fmt.Errorf("authority: status list %d: %w", n, err)
		}
	}
	var signer crypto.Signer
	iat := a.now().Truncate(time.Second)
	err = a.db.View(ctx, func(tx *store.Tx) (err error) {
		_, signer, err = a.activeSigner(ctx, tx, iat.Add(a.cfg.StatusValidity))
		return err
	})
	if permit.ErrorCode(err) == permit.ECodeNotReady {
		// No active key, or one that does not open, is the operator's
		// problem: the client is told not_ready (503) and tries again.
		return nil, permit.Errorf(permit.ECodeNotReady, "status list %d cannot be signed now: %s", n, permit.ErrorMessage(err))
	}
	if err != nil {
		return nil, err
	}
	kid, err := credential.KeyID(signer.Public().(*ecdsa.PublicKey))
	if err != nil {
		return nil, err
	}
	lst, err := list.Compress() // once for both forms
	if err != nil {
		return nil, err
	}
	claims := credential.StatusListClaims{Subject: a.StatusListURI(n), IssuedAt: iat,
		Expiry: iat.Add(a.cfg.StatusValidity), TTL: a.cfg.StatusTTL, List: list}
	var ts [2]*StatusToken
	for _, form := range []StatusForm{StatusCWT, StatusJWT} {
		sign := credential.SignStatusListCWT
		if form == StatusJWT {
			sign = credential.SignStatusListJWT
		}
		tok, err := sign(claims, lst, kid, signer)
		if err != nil {
			return nil, err
		}
		ts[form] = &StatusToken{List: n, Form: form, Version: sl.Version, Token: tok, IssuedAt: iat,
			Expiry: claims.Expiry, TTL: claims.TTL,
			ETag: fmt.Sprintf(`"%d-%d-%s-%d"`, n, sl.Version, form, iat.Unix())}
	}
	a.log.Info("status list signed", "list", n, "version", sl.Version, "entries", list.Len())
	return &ts, nil
}
