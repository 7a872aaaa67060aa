package authority

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/epermit/epermit/credential"
	_ "github.com/epermit/epermit/credential/sm2" // the trust list may hold SM2 keys (spec §1.1)
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// Online verification serves verifiers that do not run the verify library
// themselves: the authority runs the same checks with its own keys and the
// status entries straight from the store, so a revocation counts at once.

// replayCapacity bounds each verifier's replay cache.
const replayCapacity = 20_000

// replayCaches holds one replay cache per verifier: spec §4 check 10 is
// "not seen before at this verifier".
type replayCaches struct{ m sync.Map } // client id → *verify.ReplayCache

func (r *replayCaches) get(id int64) *verify.ReplayCache {
	if c, ok := r.m.Load(id); ok {
		return c.(*verify.ReplayCache)
	}
	c, _ := r.m.LoadOrStore(id, verify.NewReplayCache(replayCapacity))
	return c.(*verify.ReplayCache)
}

// VerifyPresentation checks scanned QR text for a verifier, as of now.
func (a *Authority) VerifyPresentation(ctx context.Context, c *permit.Client, text string, use verify.Use) (*verify.Result, error) {
	keys := &verifierKeys{a: a, ctx: ctx}
	v := &verify.Verifier{Keys: keys, Status: storeStatus{a}, Replay: a.replays.get(c.ID), Policy: verify.Policy{Use: use}}
	r := v.Verify(ctx, text, a.now())
	if keys.err != nil {
		return nil, keys.err // the store failed: not the presentation's fault
	}
	return r, nil
}

// keysMaxAge bounds how long online verification trusts its copy of the
// published keys, so that a key leaving the trust list leaves it here too.
const keysMaxAge = time.Minute

// cachedKeys is the authority's copy of its published keys.
type cachedKeys struct {
	set    keySet
	loaded time.Time
}

// verifierKeys are the published keys as one online verification sees
// them: the authority's copy, reloaded from the store when it is old or a
// credential names a key it lacks (just rotated in by another replica or
// the CLI). Keys change only at rotation, so most verifications read no
// keys from the store.
type verifierKeys struct {
	a   *Authority
	ctx context.Context
	err error // a failed reload
}

func (k *verifierKeys) Key(kid string) (*ecdsa.PublicKey, bool) {
	now := k.a.now()
	if c := k.a.published.Load(); c != nil && now.Sub(c.loaded) < keysMaxAge {
		if p, ok := c.set[kid]; ok {
			return p, true
		}
	}
	set, err := k.a.publishedKeys(k.ctx)
	if err != nil {
		k.err = err
		return nil, false
	}
	k.a.published.Store(&cachedKeys{set: set, loaded: now})
	return set.Key(kid)
}

// keySet is a trust list in memory.
type keySet map[string]*ecdsa.PublicKey

func (k keySet) Key(kid string) (*ecdsa.PublicKey, bool) { p, ok := k[kid]; return p, ok }

// publishedKeys are the keys of the trust list the authority publishes.
func (a *Authority) publishedKeys(ctx context.Context) (keySet, error) {
	list, err := a.TrustList(ctx)
	if err != nil {
		return nil, err
	}
	set := keySet{}
	for _, j := range list.Keys {
		pub, err := j.PublicKey()
		if err != nil {
			return nil, err
		}
		set[j.Kid] = pub
	}
	return set, nil
}

// storeStatus answers status lookups for this authority's own lists from
// the store. The entry read is the authority's word as of now, so the list
// it stands for is issued now: its age is 0.
type storeStatus struct{ a *Authority }

var errForeignList = errors.New("authority: not one of this authority's status lists")

func (s storeStatus) Status(ctx context.Context, uri string, idx uint64, now time.Time) (verify.StatusValue, time.Time, error) {
	rest, ok := strings.CutPrefix(uri, s.a.cfg.StatusURL+"/s/")
	if !ok {
		return 0, time.Time{}, errForeignList
	}
	list, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || idx > 1<<40 {
		return 0, time.Time{}, errForeignList
	}
	st, err := s.a.db.StatusEntry(ctx, list, int64(idx))
	return verify.StatusValue(st), now, err
}

// Portrait returns the portrait of an e-permit's holder to a verifier, for
// a face comparison at the gate: only while the e-permit is valid, only the
// portrait whose digest the e-permit carries, and every lookup audited.
func (a *Authority) Portrait(ctx context.Context, c *permit.Client, cti []byte) ([]byte, error) {
	var image []byte
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		cred, err := tx.Credential(ctx, cti)
		if err == nil && cred.Kind != permit.TemporaryEPermit && cred.Kind != permit.ElectronicPermit {
			// A linkage proof carries no portrait; say no more than for no credential.
			err = permit.Errorf(permit.ECodeNotFound, "no e-permit %x", cti)
		}
		if err != nil {
			return err
		}
		if cred.State != permit.CredentialActive || !tx.Now().Before(cred.ExpiresAt) {
			return permit.Errorf(permit.ECodeNotValid, "the e-permit is not valid: no portrait is given out for it")
		}
		e, err := credential.ParseEPermit(cred.Token)
		if err != nil {
			return err
		}
		rec, err := tx.Record(ctx, cred.PersonID)
		if err != nil {
			return err
		}
		if credential.PortraitDigest(rec.Person.Portrait) != e.Claims.Permit.PortraitDigest {
			return permit.Errorf(permit.ECodePortraitChanged, "the portrait on file is not the one the e-permit was issued with")
		}
		image = rec.Person.Portrait
		return tx.Audit(ctx, event(WithActor(ctx, "verifier:"+c.Name), "portrait.lookup", "cti:"+hex.EncodeToString(cti),
			map[string]string{"verifier": c.Name}))
	})
	return image, err
}
