// Package authority holds epermit's use cases: importing the registry,
// managing issuer keys, proofing applicants, issuing, revoking and linking.
// It knows nothing of HTTP or the command line; the web package and
// cmd/epermit translate requests into calls here.
//
// Every method that changes state does so in one store transaction together
// with its audit event, and reports failures a caller may see as
// *permit.Error with a stable code; anything else is internal.
package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// KeyStore holds issuer private keys and hands them out as crypto.Signer.
type KeyStore interface {
	// Generate makes a new key of the algorithm and returns its reference.
	Generate(alg keys.Algorithm) (ref string, pub *ecdsa.PublicKey, err error)
	// Signer opens the key behind ref.
	Signer(ref string) (crypto.Signer, error)
	// Remove deletes a key that was generated but never recorded.
	Remove(ref string) error
}

// Config is what an operator decides about the authority, and the outside
// services it talks to.
type Config struct {
	IssuerID  string // the CWT "iss", default "CN-NIA"
	PublicURL string // base URL the authority is reached at, e.g. https://epermit.example
	// StatusURL is the base of status list URIs ({StatusURL}/s/{n}), which
	// travel in every QR: a short host name keeps the QR small (spec §3).
	// Default PublicURL.
	StatusURL string
	// KMS is where the key store makes new issuer keys ("file:" or a
	// pkcs11: URI without a PIN); when set, making a key records it as the
	// store's setting, so later rotations default to it.
	KMS string
	// Policy is the issuance policy; the zero value means DefaultPolicy.
	Policy permit.Policy
	// StatusListSize is the number of entries in a new status list
	// (default 1,048,576).
	StatusListSize int64
	// StatusTTL is the ttl of published status list tokens (default
	// DefaultStatusTTL, 5 minutes); each list is signed again every half
	// of it (StatusResignAfter), changed or not.
	StatusTTL time.Duration
	// StatusValidity is exp − iat of published status list tokens (default
	// DefaultStatusValidity, 24 hours; at most RetiredKeyGrace, so that a
	// token never outlives its key's place in the trust list).
	StatusValidity time.Duration
	// ClientKeyCache is how long an API key that authenticated is accepted
	// again without asking the store (default DefaultClientKeyCache, 5 s;
	// negative: ask on every request). It bounds how long a client disabled
	// or given a new key by another process (a replica, the CLI) still
	// works here; changes made through this Authority apply at once.
	ClientKeyCache time.Duration

	Notifier  Notifier    // delivers one-time codes; required for proofing
	FaceMode  string      // FaceHTTP, FaceOfficer or FaceDemo
	FaceCheck FaceChecker // required with FaceHTTP
	// Demo is set only by `epermit demo`; FaceDemo is refused without it.
	Demo bool
}

// Authority runs the use cases over a store and a key store.
type Authority struct {
	db   *store.DB
	keys KeyStore
	cfg  Config
	log  *slog.Logger
	now  func() time.Time

	signers   sync.Map // key reference → crypto.Signer
	replays   replayCaches
	published atomic.Pointer[cachedKeys] // published keys, for online verification
	pub       publisher
	// clientKeys remembers API keys that authenticated (clientCache).
	clientKeys clientCache
	// linkageAudit group-commits the linkage checks' audit events, when
	// groupLinkageAudit (on SQLite: see CheckLinkage).
	linkageAudit      *auditBatcher
	groupLinkageAudit bool
}

// New returns an Authority, after checking that the configuration is
// coherent. A nil logger discards logs.
func New(db *store.DB, keys KeyStore, cfg Config, log *slog.Logger) (*Authority, error) {
	if cfg.IssuerID == "" {
		cfg.IssuerID = "CN-NIA"
	}
	if cfg.Policy.Kinds == nil {
		cfg.Policy = permit.DefaultPolicy()
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.StatusURL == "" {
		cfg.StatusURL = cfg.PublicURL
	}
	if cfg.StatusListSize == 0 {
		cfg.StatusListSize = 1 << 20
	}
	if cfg.StatusTTL == 0 {
		cfg.StatusTTL = DefaultStatusTTL
	}
	if cfg.StatusValidity == 0 {
		cfg.StatusValidity = DefaultStatusValidity
	}
	if cfg.ClientKeyCache == 0 {
		cfg.ClientKeyCache = DefaultClientKeyCache
	}
	switch {
	case cfg.StatusTTL < time.Second || cfg.StatusTTL%time.Second != 0:
		return nil, errors.New("authority: the status list ttl must be whole seconds, at least 1")
	case cfg.StatusValidity < 2*cfg.StatusTTL || cfg.StatusValidity%time.Second != 0:
		// A verifier uses a copy for one ttl from its iat; exp must leave
		// room beyond that to ride out an outage (MaxAge), at least a ttl.
		return nil, errors.New("authority: the status list validity must be whole seconds and at least twice the ttl")
	case cfg.StatusValidity > RetiredKeyGrace:
		return nil, fmt.Errorf("authority: the status list validity must not exceed %v, how long a retired key stays in the trust list", RetiredKeyGrace)
	}
	if cfg.FaceMode == "" {
		cfg.FaceMode = FaceOfficer
	}
	switch {
	case cfg.FaceMode == FaceDemo && !cfg.Demo:
		return nil, errors.New("authority: face mode \"demo\" accepts every face and is refused outside `epermit demo`")
	case cfg.FaceMode == FaceHTTP && cfg.FaceCheck == nil:
		return nil, errors.New("authority: face mode \"http\" needs a face provider")
	case cfg.FaceMode != FaceHTTP && cfg.FaceMode != FaceOfficer && cfg.FaceMode != FaceDemo:
		return nil, fmt.Errorf("authority: unknown face mode %q (want http, officer or demo)", cfg.FaceMode)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Authority{db: db, keys: keys, cfg: cfg, log: log, now: time.Now, clientKeys: clientCache{ttl: cfg.ClientKeyCache},
		linkageAudit: &auditBatcher{db: db}, groupLinkageAudit: db != nil && db.Engine() == store.SQLite}, nil
}

// QRRoom returns the longest latin name an e-permit can carry within spec
// §3's QR limit (620 characters), for a three-character Chinese name, the
// largest status index and a two-digit list number under the configured
// issuer and status URL: whatever else a credential holds has a fixed
// size. The server logs it at start, for operators choosing a short status
// URL.
func (a *Authority) QRRoom() int {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0
	}
	kid, err := credential.KeyID(&key.PublicKey)
	if err != nil {
		return 0
	}
	t := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claims := credential.Claims{Issuer: a.cfg.IssuerID, IssuedAt: t, NotBefore: t, Expiry: t.Add(7 * 24 * time.Hour),
		ID: [16]byte{1}, Holder: &key.PublicKey, Status: credential.StatusRef{Idx: uint64(a.cfg.StatusListSize - 1), URI: a.StatusListURI(12)},
		Permit: credential.Permit{Kind: WireKind(permit.TemporaryEPermit), DocumentType: WireDocumentType(permit.HKHomeReturnPermit),
			DocumentNumber: "H12345678", Name: "陳大文", Sex: WireSex(permit.Male), BirthDate: "1990-01-01",
			Scopes: WireScopes([]permit.Scope{permit.ScopeFlight, permit.ScopeTrain}), Reason: WireReason(permit.ReasonLost)}}
	for n := 0; ; n++ {
		claims.Permit.LatinName = strings.Repeat("A", n+1)
		token, err := credential.SignEPermit(claims, kid, key)
		if err != nil || credential.QRTextLen(token) > credential.MaxQRText {
			return n
		}
	}
}

// SetClock replaces the authority's clock (tests and `--at` only).
func (a *Authority) SetClock(now func() time.Time) {
	a.now = now
	a.db.SetClock(now)
}

// Config returns the configuration in force.
func (a *Authority) Config() Config { return a.cfg }

type actorKey struct{}

// WithActor returns a context whose changes are audited as made by actor,
// e.g. "cli", "officer:wong", "holder:hk:H12345678".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// event builds an audit event; details must hold no personal data beyond
// identifiers.
func event(ctx context.Context, action, subject string, details any) audit.Event {
	e := audit.Event{Actor: actor(ctx), Action: action, Subject: subject}
	if details != nil {
		e.Details, _ = json.Marshal(details)
	}
	return e
}

// Ready reports whether the authority can serve applicants: the store
// answers, an issuer key is active and its signer opens, and one-time
// codes can be sent. What is missing is a permit.Error with code
// ECodeNotReady and a message for the operator; an unreachable store is
// returned as it is.
func (a *Authority) Ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return err
	}
	if a.cfg.Notifier == nil {
		return permit.Errorf(permit.ECodeNotReady, "no way to send one-time codes: configure --sms-url")
	}
	return a.db.View(ctx, func(tx *store.Tx) error {
		// The longest credential: under a root, a key whose certificate
		// cannot cover it is not ready, and the message says why.
		_, _, err := a.activeSigner(ctx, tx, tx.Now().Add(a.LongestCredential()))
		return err
	})
}

// LongestCredential is the longest life of anything the authority signs:
// an e-permit of any enabled kind, a linkage proof, a status list token. A
// key's certificate must reach this far past its usage period (docs/keys.md).
func (a *Authority) LongestCredential() time.Duration {
	d := max(LinkageValidity, a.cfg.StatusValidity)
	for _, kp := range a.cfg.Policy.Kinds {
		if kp.Enabled {
			d = max(d, kp.Validity)
		}
	}
	return d
}

// PolicyHash is the hash of the issuance policy in force
// (permit.Policy.Hash), for /readyz.
func (a *Authority) PolicyHash() string { return a.cfg.Policy.Hash() }

// Policy is the issuance policy in force.
func (a *Authority) Policy() permit.Policy { return a.cfg.Policy }

// RecordPolicy records the policy in force in the audit log ("policy.change",
// with its hash and switches) when it differs from the last one recorded,
// and says whether it did. Servers call it at start, so the log shows when
// the rules changed and to what; replicas starting together record it once.
func (a *Authority) RecordPolicy(ctx context.Context) (changed bool, err error) {
	hash := a.cfg.Policy.Hash()
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		last, err := tx.LastAuditDetails(ctx, "policy.change")
		if err != nil {
			return err
		}
		var prev struct{ Hash string }
		if last != nil {
			json.Unmarshal(last, &prev)
		} else {
			prev.Hash = permit.DefaultPolicy().Hash() // a store without the event ran today's rules
		}
		if prev.Hash == hash {
			return nil
		}
		changed = true
		p := a.cfg.Policy
		return tx.Audit(ctx, event(ctx, "policy.change", "policy", map[string]any{"hash": hash, "previous": prev.Hash,
			"allow_border": p.AllowBorder, "allow_electronic_permit": p.AllowElectronicPermit}))
	})
	return changed, err
}

// VerifyAudit checks the whole audit log and returns the number of events
// checked; see store.DB.VerifyAudit.
func (a *Authority) VerifyAudit(ctx context.Context) (int64, error) {
	head, err := a.db.VerifyAudit(ctx, nil)
	return head.Seq, err
}

// VerifyAuditFrom is VerifyAudit with an anchor from an earlier run; it
// returns the new head to record and the store's facts it cross-checked
// against the log (see store.DB.CheckAudit).
func (a *Authority) VerifyAuditFrom(ctx context.Context, anchor *audit.Anchor) (audit.Report, error) {
	return a.db.CheckAudit(ctx, anchor)
}

// AuditPageSize is how many audit events AuditEvents returns at most.
const AuditPageSize = 200

// AuditEvents returns the newest audit events about subject (all subjects
// when empty), at most AuditPageSize.
func (a *Authority) AuditEvents(ctx context.Context, subject string) ([]audit.Event, error) {
	return a.AuditEventsBefore(ctx, subject, 0)
}

// AuditEventsBefore is AuditEvents for the events before sequence number
// before (0 for the newest): the next page of an audit trail starts
// before the last event of the page shown.
func (a *Authority) AuditEventsBefore(ctx context.Context, subject string, before int64) ([]audit.Event, error) {
	return a.db.AuditEvents(ctx, subject, before, AuditPageSize)
}

// SearchAudit returns the audit events f selects, newest first (for
// `epermit audit list`).
func (a *Authority) SearchAudit(ctx context.Context, f store.AuditFilter) ([]audit.Event, error) {
	return a.db.SearchAudit(ctx, f)
}
