package verify

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/credential"
)

// ErrStatusUnknown is what every status lookup that cannot give a trustworthy
// answer returns (wrapped with the reason): the list could not be fetched,
// parsed or verified, is stale, expired or dated in the future, or does not
// cover the index.
// Spec §4 check 12 turns it into the warning status_unknown — never into
// revoked.
var ErrStatusUnknown = errors.New("verify: status unknown")

// StatusValue is a status list entry (spec §5).
type StatusValue = credential.StatusValue

// The status values a lookup returns.
const (
	StatusValid     = credential.StatusValid
	StatusRevoked   = credential.StatusRevoked
	StatusSuspended = credential.StatusSuspended
)

// Defaults of StatusCacheOptions.
const (
	// DefaultStatusFetchTimeout bounds one fetch when no Client is given.
	DefaultStatusFetchTimeout = 10 * time.Second
	// DefaultStatusRetryAfter is how long a failed fetch is not retried, so
	// that a gate scanning while the authority is unreachable does not wait
	// on the network at every scan.
	DefaultStatusRetryAfter = 15 * time.Second
)

// StatusCacheOptions configure a StatusCache. The zero value is usable.
type StatusCacheOptions struct {
	// Client fetches the lists; nil means a client with a
	// DefaultStatusFetchTimeout timeout.
	Client *http.Client
	// MaxAge, when set, replaces each list's ttl as the age past which the
	// list is no longer used (spec §4 check 12's "configured maximum age"):
	// longer to ride out an outage, shorter to be stricter. A list's age is
	// now − its iat, the time since the authority signed it, not since this
	// cache fetched it. Lists are still refreshed once older than their ttl
	// (or MaxAge, if that is shorter), and never used past their exp.
	MaxAge time.Duration
	// Skew is how far a list's iat may be ahead of now (clocks differ); a
	// list dated later is not trusted and never kept. 0 means DefaultSkew,
	// the verifier policy's default.
	Skew time.Duration
	// MaxResponse bounds a fetched token in bytes; 0 means
	// credential.MaxStatusListCWT.
	MaxResponse int64
	// RetryAfter is how long after a failed fetch a list is not fetched
	// again; 0 means DefaultStatusRetryAfter.
	RetryAfter time.Duration
}

// StatusCache fetches status list tokens over HTTP, checks them against a
// trust list, keeps each by URI and answers entry lookups. It is safe for
// concurrent use; concurrent lookups of a list that needs fetching share one
// fetch.
type StatusCache struct {
	opts  StatusCacheOptions
	trust atomic.Pointer[keysBox]
	mu    sync.Mutex
	lists map[string]*statusEntry
}

type statusEntry struct {
	mu       sync.Mutex // held while fetching
	cur      atomic.Pointer[cachedList]
	failedAt time.Time // last failed fetch; guarded by mu
	lastErr  error     // its error; guarded by mu
}

type cachedList struct {
	tok     *credential.StatusListToken
	fetched time.Time // when the authority last confirmed this token (200 or 304)
	etag    string
}

// keysBox lets an interface value live in an atomic.Pointer.
type keysBox struct{ Keys }

// NewStatusCache returns an empty cache that trusts the keys of trust: a
// *TrustList, or a *TrustUpdater to follow key rotations.
func NewStatusCache(trust Keys, opts StatusCacheOptions) *StatusCache {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: DefaultStatusFetchTimeout}
	}
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = credential.MaxStatusListCWT
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultStatusRetryAfter
	}
	if opts.Skew <= 0 {
		opts.Skew = DefaultSkew
	}
	c := &StatusCache{opts: opts, lists: map[string]*statusEntry{}}
	c.trust.Store(&keysBox{trust})
	return c
}

// SetTrustList replaces the trust list used to check lists fetched from now
// on (lists already cached were checked when fetched).
func (c *StatusCache) SetTrustList(trust Keys) { c.trust.Store(&keysBox{trust}) }

func (c *StatusCache) entry(uri string) *statusEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lists[uri]
	if !ok {
		e = &statusEntry{}
		c.lists[uri] = e
	}
	return e
}

// listAge is a list's age at now: the time since the authority signed it
// (its iat), never below zero. The time this cache fetched it says nothing:
// a stale cache, a captive portal or a replaying middlebox can hand over a
// properly signed list hours old.
func listAge(l *cachedList, now time.Time) time.Duration {
	return max(now.Sub(l.tok.IssuedAt), 0)
}

// fromFuture reports whether a list's iat is later than now plus the skew:
// such a list is not trusted (spec §4 check 12).
func (c *StatusCache) fromFuture(l *cachedList, now time.Time) bool {
	return l.tok.IssuedAt.After(now.Add(c.opts.Skew))
}

// refreshAfter is the age past which a list is fetched again.
func (c *StatusCache) refreshAfter(l *cachedList) time.Duration {
	if c.opts.MaxAge > 0 && c.opts.MaxAge < l.tok.TTL {
		return c.opts.MaxAge
	}
	return l.tok.TTL
}

// usableFor is the age up to which a list is used.
func (c *StatusCache) usableFor(l *cachedList) time.Duration {
	if c.opts.MaxAge > 0 {
		return c.opts.MaxAge
	}
	return l.tok.TTL
}

// needsRefresh reports whether a list held should be fetched again at now.
func (c *StatusCache) needsRefresh(l *cachedList, now time.Time) bool {
	return l == nil || listAge(l, now) >= c.refreshAfter(l) || !now.Before(l.tok.Expiry) || c.fromFuture(l, now)
}

// usable returns why a list held may not be used at now, or nil.
func (c *StatusCache) usable(l *cachedList, uri string, now time.Time) error {
	age := listAge(l, now)
	switch {
	case c.fromFuture(l, now):
		return fmt.Errorf("the copy of %s is dated in the future (iat %s)", uri, l.tok.IssuedAt.Format(time.RFC3339))
	case age >= c.usableFor(l) || !now.Before(l.tok.Expiry):
		return fmt.Errorf("the copy of %s is stale (age %v, iat %s, exp %s)", uri, age.Round(time.Second),
			l.tok.IssuedAt.Format(time.RFC3339), l.tok.Expiry.Format(time.RFC3339))
	}
	return nil
}

// Status returns entry idx of the list at uri, and the list's iat: when the
// authority signed it. Its age, now − iat, is under the list's ttl (or
// MaxAge) and its iat no later than now plus Skew. It fetches the list when
// it is not cached, older than its ttl or past its exp. Any failure —
// fetch, parse, signature, unknown key, a sub other than uri, a list too
// stale, expired or dated in the future, an index beyond the list, an
// undefined value — returns an error matching ErrStatusUnknown, and the
// value is then meaningless; it is never a revoked answer that was not read
// from a verified, fresh list.
func (c *StatusCache) Status(ctx context.Context, uri string, idx uint64, now time.Time) (StatusValue, time.Time, error) {
	e := c.entry(uri)
	l := e.cur.Load()
	var fetchErr error
	if c.needsRefresh(l, now) {
		l, fetchErr = c.refresh(ctx, e, uri, now)
	}
	if l == nil {
		return 0, time.Time{}, fmt.Errorf("%w: no copy of %s: %w", ErrStatusUnknown, uri, fetchErr)
	}
	// The key that signed the copy held may have been withdrawn, or its
	// trust list expired, since it was fetched.
	if trust := c.trust.Load(); trust == nil || trust.Keys == nil {
		return 0, time.Time{}, fmt.Errorf("%w: no trust list", ErrStatusUnknown)
	} else if _, code := LookupKey(trust.Keys, l.tok.Kid, l.tok.IssuedAt, now, c.opts.Skew); code != "" {
		return 0, time.Time{}, fmt.Errorf("%w: the copy of %s was signed by key %s: %s", ErrStatusUnknown, uri, l.tok.Kid, code)
	}
	if err := c.usable(l, uri, now); err != nil {
		if fetchErr != nil {
			return 0, time.Time{}, fmt.Errorf("%w: %w; the last fetch: %w", ErrStatusUnknown, err, fetchErr)
		}
		return 0, time.Time{}, fmt.Errorf("%w: %w", ErrStatusUnknown, err)
	}
	v, ok := l.tok.List.Get(idx)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("%w: index %d is beyond %s (%d entries)", ErrStatusUnknown, idx, uri, l.tok.List.Len())
	}
	if v > StatusSuspended {
		return 0, time.Time{}, fmt.Errorf("%w: entry %d of %s has the undefined value %d", ErrStatusUnknown, idx, uri, v)
	}
	return v, l.tok.IssuedAt, nil
}

// refresh fetches uri unless another caller just did, or a fetch failed
// less than RetryAfter ago. It returns the copy to use (possibly the old
// one, possibly nil) and the fetch error, if any.
func (c *StatusCache) refresh(ctx context.Context, e *statusEntry, uri string, now time.Time) (*cachedList, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.cur.Load()
	if !c.needsRefresh(l, now) {
		return l, nil // refreshed while we waited
	}
	if !e.failedAt.IsZero() && now.Sub(e.failedAt) >= 0 && now.Sub(e.failedAt) < c.opts.RetryAfter {
		return l, e.lastErr
	}
	fresh, err := c.fetch(ctx, uri, l, now)
	if err != nil {
		e.failedAt, e.lastErr = now, err
		return l, err
	}
	e.cur.Store(fresh)
	if c.needsRefresh(fresh, now) {
		// The answer is no fresher than what needs refreshing (a replayed
		// or long-cached list, or a 304 for an old copy): back off as after
		// a failure, so that every scan does not wait on the network.
		err := fmt.Errorf("GET %s: the list served is already %v old (iat %s)", uri,
			listAge(fresh, now).Round(time.Second), fresh.tok.IssuedAt.Format(time.RFC3339))
		e.failedAt, e.lastErr = now, err
		return fresh, err
	}
	e.failedAt, e.lastErr = time.Time{}, nil
	return fresh, nil
}

// fetch GETs the CWT form of the list, conditionally when a copy is held.
func (c *StatusCache) fetch(ctx context.Context, uri string, old *cachedList, now time.Time) (*cachedList, error) {
	trust := c.trust.Load()
	if trust == nil || trust.Keys == nil {
		return nil, errors.New("no trust list")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", credential.StatusListCWTType)
	if old != nil && old.etag != "" && !c.fromFuture(old, now) {
		req.Header.Set("If-None-Match", old.etag)
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		// The authority confirms the copy we hold is current.
		return &cachedList{tok: old.tok, fetched: now, etag: old.etag}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != credential.StatusListCWTType {
		return nil, fmt.Errorf("GET %s: Content-Type %q is not %s", uri, resp.Header.Get("Content-Type"), credential.StatusListCWTType)
	}
	if resp.ContentLength > c.opts.MaxResponse {
		return nil, fmt.Errorf("GET %s: %d bytes, over the bound of %d", uri, resp.ContentLength, c.opts.MaxResponse)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	if int64(len(body)) > c.opts.MaxResponse {
		return nil, fmt.Errorf("GET %s: over the bound of %d bytes", uri, c.opts.MaxResponse)
	}
	// The key may sign at now; whether it could sign at the list's iat is
	// known once the token is read.
	tok, err := credential.ParseStatusListCWT(body, func(kid string) (*ecdsa.PublicKey, bool) {
		k, code := LookupKey(trust.Keys, kid, time.Time{}, now, c.opts.Skew)
		return k, code == ""
	})
	if err != nil {
		return nil, err
	}
	if _, code := LookupKey(trust.Keys, tok.Kid, tok.IssuedAt, now, c.opts.Skew); code != "" {
		return nil, fmt.Errorf("GET %s: signed by key %s: %s", uri, tok.Kid, code)
	}
	// The token must be the list the credential points at, not another
	// list the same issuer signed (draft-ietf-oauth-status-list: sub = uri).
	if tok.Subject != uri {
		return nil, fmt.Errorf("GET %s: the token is for %q", uri, tok.Subject)
	}
	fresh := &cachedList{tok: tok, fetched: now, etag: resp.Header.Get("ETag")}
	if c.fromFuture(fresh, now) {
		// Kept, it would also make every real list look like a rollback.
		return nil, fmt.Errorf("GET %s: the list is dated in the future (iat %s)", uri, tok.IssuedAt.Format(time.RFC3339))
	}
	// A list older than the copy held never replaces it: whoever answers
	// at the URI could otherwise roll a gate back to before a revocation.
	// A held copy dated in the future (this clock was set back) is no
	// anchor: it is not trusted either.
	if old != nil && tok.IssuedAt.Before(old.tok.IssuedAt) && !c.fromFuture(old, now) {
		return nil, fmt.Errorf("GET %s: the list served (iat %s) is older than the copy held (iat %s)", uri,
			tok.IssuedAt.Format(time.RFC3339), old.tok.IssuedAt.Format(time.RFC3339))
	}
	return fresh, nil
}

// StatusListInfo describes a cached list, for a gate's status display.
type StatusListInfo struct {
	URI      string
	Fetched  time.Time     // when the authority last confirmed the copy
	Age      time.Duration // now − IssuedAt, never below zero
	IssuedAt time.Time     // the token's iat
	Expiry   time.Time     // the token's exp
	TTL      time.Duration
	Entries  uint64
	Usable   bool // fresh enough for lookups at now
}

// Lists describes every list held, in no particular order.
func (c *StatusCache) Lists(now time.Time) []StatusListInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []StatusListInfo
	for uri, e := range c.lists {
		l := e.cur.Load()
		if l == nil {
			continue
		}
		out = append(out, StatusListInfo{URI: uri, Fetched: l.fetched, Age: listAge(l, now), IssuedAt: l.tok.IssuedAt,
			Expiry: l.tok.Expiry, TTL: l.tok.TTL, Entries: l.tok.List.Len(),
			Usable: c.usable(l, uri, now) == nil})
	}
	return out
}

// Age returns the age of the copy of uri held (now − its iat, never below
// zero), and false when none is.
func (c *StatusCache) Age(uri string, now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	e, ok := c.lists[uri]
	c.mu.Unlock()
	if !ok {
		return 0, false
	}
	l := e.cur.Load()
	if l == nil {
		return 0, false
	}
	return listAge(l, now), true
}
