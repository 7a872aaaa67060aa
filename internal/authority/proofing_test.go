package authority_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// phone is a fake Notifier: it keeps the last message per number.
type phone struct {
	mu   sync.Mutex
	last map[string]string
}

func (p *phone) Notify(_ context.Context, to, msg string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]string{}
	}
	p.last[to] = msg
	return nil
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

func (p *phone) code(t testing.TB, to string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := codeRE.FindString(p.last[to])
	if c == "" {
		t.Fatalf("no code was sent to %s", to)
	}
	return c
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is an authority with a registry, a key, a fake phone and a clock.
type fixture struct {
	a     *authority.Authority
	phone *phone
	clock *clock
	recs  []permit.Record
	// keyStore holds the issuer keys, for a second authority on the store.
	keyStore keys.Files
}

func newFixture(t testing.TB, db *store.DB, cfg authority.Config) *fixture {
	return newFixtureN(t, db, cfg, 40)
}

func newFixtureN(t testing.TB, db *store.DB, cfg authority.Config, people int) *fixture {
	t.Helper()
	f := &fixture{phone: &phone{}, clock: &clock{t: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}, recs: demo.Registry(people)}
	cfg.Notifier = f.phone
	cfg.PublicURL = "https://epermit.test"
	if cfg.FaceMode == "" {
		cfg.FaceMode, cfg.Demo = authority.FaceDemo, true
	}
	f.keyStore = keys.Files{Dir: t.TempDir()}
	a, err := authority.New(db, f.keyStore, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(f.clock.now)
	f.a = a
	if _, err := a.InitKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ImportRegistry(ctx, bytes.NewReader(registryFile(t, f.recs)), "test"); err != nil {
		t.Fatal(err)
	}
	return f
}

func startFor(r permit.Record) authority.ProofingStart {
	return authority.ProofingStart{DocumentType: r.TravelPermits[0].Type, DocumentNumber: r.TravelPermits[0].Number,
		Name: r.Person.Name, BirthDate: r.Person.BirthDate, Client: "198.51.100.7"}
}

// prove runs proofing for record r to the end and returns the session token.
func (f *fixture) prove(t testing.TB, r permit.Record) string {
	t.Helper()
	st, err := f.a.StartProofing(ctx, startFor(r))
	if err != nil {
		t.Fatalf("start proofing: %v", err)
	}
	if _, err := f.a.SubmitCode(ctx, st.Secret, f.phone.code(t, r.Person.Phone)); err != nil {
		t.Fatalf("submit code: %v", err)
	}
	ps, err := f.a.SubmitFace(ctx, st.Secret, r.Person.Portrait)
	if err != nil || ps.State != store.ProofingVerified || ps.Token == "" {
		t.Fatalf("face: %+v, %v", ps, err)
	}
	return ps.Token
}

// device is a holder's device key.
type device struct{ key *ecdsa.PrivateKey }

func newDevice(t testing.TB) device {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return device{k}
}

// sign signs a nonce as WebCrypto would: ES256, r||s.
func (d device) sign(t testing.TB, nonce string) []byte {
	digest := sha256.Sum256([]byte(nonce))
	r, s, err := ecdsa.Sign(rand.Reader, d.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// apply asks for a nonce, signs it and applies.
// applyKind applies for a credential of kind, giving no reason.
func (f *fixture) applyKind(t testing.TB, token string, d device, kind permit.Kind) (*permit.Credential, error) {
	t.Helper()
	nonce, _, err := f.a.Nonce(ctx, token)
	if err != nil {
		t.Fatalf("nonce: %v", err)
	}
	return f.a.Apply(ctx, token, authority.ApplyRequest{Kind: kind, HolderKey: &d.key.PublicKey, Signature: d.sign(t, nonce)})
}

func (f *fixture) apply(t testing.TB, token string, d device, reason permit.Reason, idem string) (*permit.Credential, error) {
	t.Helper()
	nonce, _, err := f.a.Nonce(ctx, token)
	if err != nil {
		t.Fatalf("nonce: %v", err)
	}
	return f.a.Apply(ctx, token, authority.ApplyRequest{Reason: reason, HolderKey: &d.key.PublicKey,
		Signature: d.sign(t, nonce), IdempotencyKey: idem})
}
