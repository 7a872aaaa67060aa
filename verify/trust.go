package verify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
)

// maxTrustList bounds a fetched trust list; a real one is a few hundred bytes
// per key.
const maxTrustList = 1 << 20

// TrustList is the set of issuer keys a verifier accepts, by kid.
type TrustList struct {
	keys    map[string]*ecdsa.PublicKey
	source  string
	updated time.Time
	signed  *signedList // nil for a JWK Set
}

// ParseTrustList reads a JWK Set. Every key must be a well-formed P-256
// ES256 key, or SM2 key (spec §1.1), whose kid is the one spec §1 derives
// from it; SM2 keys are left out unless the program imports credential/sm2.
func ParseTrustList(data []byte, source string, at time.Time) (*TrustList, error) {
	keys, err := credential.ParseJWKSet(data)
	if err != nil {
		return nil, fmt.Errorf("verify: trust list from %s: %w", source, err)
	}
	return &TrustList{keys: keys, source: source, updated: at}, nil
}

// LoadTrustList reads a JWK Set file.
func LoadTrustList(path string) (*TrustList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return ParseTrustList(data, path, time.Now())
}

// FetchTrustList fetches the trust list from an authority's base URL. A nil
// client means http.DefaultClient.
func FetchTrustList(ctx context.Context, client *http.Client, authorityURL string) (*TrustList, error) {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimSuffix(authorityURL, "/") + "/.well-known/jwks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("verify: fetching trust list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verify: fetching trust list: %s from %s", resp.Status, url)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTrustList+1))
	if err != nil {
		return nil, fmt.Errorf("verify: fetching trust list: %w", err)
	}
	if len(data) > maxTrustList {
		return nil, fmt.Errorf("verify: trust list from %s is larger than %d bytes", url, maxTrustList)
	}
	return ParseTrustList(data, url, time.Now())
}

// Key returns the issuer key with the given kid (base64url text). A key a
// signed list revokes is not returned; the other rules of a signed list need
// times and are KeyFor's.
func (t *TrustList) Key(kid string) (*ecdsa.PublicKey, bool) {
	if t == nil {
		return nil, false // no list: no key is trusted
	}
	if t.signed != nil {
		if _, revoked := t.signed.revoked[kid]; revoked {
			return nil, false
		}
	}
	k, ok := t.keys[kid]
	return k, ok
}

// Len is the number of keys.
func (t *TrustList) Len() int { return len(t.keys) }

// Source says where the list came from: a file path or a URL.
func (t *TrustList) Source() string { return t.source }

// Updated is when the list was loaded or fetched, so a gate can show how
// fresh it is.
func (t *TrustList) Updated() time.Time { return t.updated }

// TrustUpdater keeps a trust list current: a gate starts with one fetch,
// then refreshes in the background and keeps the last good list while
// offline. It follows either an authority's JWK Set (NewTrustUpdater) or a
// trust list signed by a root (NewSignedTrustUpdater). It is safe for
// concurrent use.
type TrustUpdater struct {
	client       *http.Client
	authorityURL string
	// For a signed list: where it comes from (a URL or a file) and the
	// root it must be signed by.
	source string
	root   *pki.Certificate
	// refresh serializes refreshes of a signed list, so that two of them
	// cannot store their lists in the wrong order (a rollback).
	refresh sync.Mutex
	list    atomic.Pointer[TrustList]
}

// NewTrustUpdater fetches the authority's trust list once; it fails when
// that first fetch does, since a verifier with no keys accepts nothing.
func NewTrustUpdater(ctx context.Context, client *http.Client, authorityURL string) (*TrustUpdater, error) {
	u := &TrustUpdater{client: client, authorityURL: authorityURL}
	if err := u.Refresh(ctx); err != nil {
		return nil, err
	}
	return u, nil
}

// NewSignedTrustUpdater follows a trust list signed by root (spec §1.2)
// from source: an http(s) URL (a URL without a path means the authority's
// {base}/.well-known/epermit-trust-list) or a file path, which a gate may
// fill from any channel. It reads the list once and fails when that does.
// Each Refresh accepts a newer list only by ParseSignedTrustList's rules
// (signed by the root, current, no lower seq) and keeps the last good list
// otherwise.
func NewSignedTrustUpdater(ctx context.Context, client *http.Client, source string, root *pki.Certificate) (*TrustUpdater, error) {
	if root == nil {
		return nil, errors.New("verify: a signed trust list needs a root")
	}
	if u, err := url.Parse(source); err == nil && (u.Scheme == "http" || u.Scheme == "https") && (u.Path == "" || u.Path == "/") {
		source = strings.TrimSuffix(source, "/") + "/.well-known/epermit-trust-list"
	}
	u := &TrustUpdater{client: client, source: source, root: root}
	if err := u.Refresh(ctx); err != nil {
		return nil, err
	}
	return u, nil
}

// Refresh fetches the list again; on failure the previous list stays.
func (u *TrustUpdater) Refresh(ctx context.Context) error {
	if u.root == nil {
		l, err := FetchTrustList(ctx, u.client, u.authorityURL)
		if err != nil {
			return err
		}
		u.list.Store(l)
		return nil
	}
	u.refresh.Lock()
	defer u.refresh.Unlock()
	data, err := readSignedList(ctx, u.client, u.source)
	if err != nil {
		return err
	}
	held := u.list.Load()
	l, err := ParseSignedTrustList(data, u.root, held, u.source, time.Now())
	if err != nil {
		return err
	}
	if l != held {
		u.list.Store(l)
	}
	return nil
}

// readSignedList reads a signed list from a URL or a file, at most
// pki.MaxTrustList bytes.
func readSignedList(ctx context.Context, client *http.Client, source string) ([]byte, error) {
	var r io.Reader
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		if client == nil {
			client = http.DefaultClient
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		req.Header.Set("Accept", pki.TrustListMediaType)
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("verify: fetching trust list: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("verify: fetching trust list: %s from %s", resp.Status, source)
		}
		r = resp.Body
	} else {
		f, err := os.Open(source)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, pki.MaxTrustList+1))
	if err != nil {
		return nil, fmt.Errorf("verify: reading trust list: %w", err)
	}
	if len(data) > pki.MaxTrustList {
		return nil, fmt.Errorf("verify: trust list from %s is larger than %d bytes", source, pki.MaxTrustList)
	}
	return bytes.TrimSpace(data), nil
}

// Run refreshes the list every interval until ctx is done, reporting
// failures to onError (which may be nil).
func (u *TrustUpdater) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := u.Refresh(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// List returns the current trust list.
func (u *TrustUpdater) List() *TrustList { return u.list.Load() }

// Key looks kid up in the current list.
func (u *TrustUpdater) Key(kid string) (*ecdsa.PublicKey, bool) { return u.List().Key(kid) }

// KeyFor looks kid up in the current list by the rules of TrustList.KeyFor.
func (u *TrustUpdater) KeyFor(kid string, iat, now time.Time, skew time.Duration) (*ecdsa.PublicKey, Code) {
	return u.List().KeyFor(kid, iat, now, skew)
}
