package applicant

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// A proven applicant's e-permits: what they may apply for, the nonce their
// device key signs, applying, listing, cancelling, and signing out.

func (s *Handler) nonce(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		var nonce string
		var exp time.Time
		if err == nil {
			nonce, exp, err = s.a.Nonce(r.Context(), token)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"nonce": nonce, "expires_at": exp})
	}
}

type applyRequest struct {
	// Kind is "temporary" (the default) or "electronic", when the policy
	// issues the long-lived electronic permit.
	Kind   string `json:"kind,omitempty"`
	Reason string `json:"reason,omitempty"`
	holderProof
}

// holderProof is a device key and its signature over the session's nonce:
// the proof of possession every issuance to a holder asks for.
type holderProof struct {
	HolderKey credential.JWK `json:"holder_key"`
	Signature string         `json:"signature"` // base64url r||s over the nonce
}

func (p holderProof) parse() (*ecdsa.PublicKey, []byte, error) {
	pub, err := p.HolderKey.Key()
	if err != nil {
		return nil, nil, permit.Errorf(permit.ECodeInvalid, "holder_key: %v", err)
	}
	sig, err := httpx.Signature(p.Signature)
	if err != nil {
		return nil, nil, err
	}
	return pub, sig, nil
}

// credentialJSON is how the API shows an e-permit to its holder.
type credentialJSON struct {
	ID          string    `json:"cti"`
	Credential  string    `json:"credential"` // base64url of the COSE_Sign1 bytes
	State       string    `json:"state"`
	StateReason string    `json:"state_reason,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	NotBefore   time.Time `json:"not_before"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func toJSON(c *permit.Credential) credentialJSON {
	return credentialJSON{ID: hex.EncodeToString(c.ID), Credential: base64.RawURLEncoding.EncodeToString(c.Token),
		State: string(c.State), StateReason: c.StateReason, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore, ExpiresAt: c.ExpiresAt}
}

func (s *Handler) apply(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, err := s.applyRequest(c, w, r)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, toJSON(cred))
	}
}

func (s *Handler) applyRequest(c channel, w http.ResponseWriter, r *http.Request) (*permit.Credential, error) {
	token, err := c.session(r)
	if err != nil {
		return nil, err
	}
	var req applyRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		return nil, err
	}
	kind := permit.TemporaryEPermit
	var reason permit.Reason
	switch req.Kind {
	case "", "temporary":
		if reason, err = permit.ParseReason(req.Reason); err != nil {
			return nil, err
		}
	case "electronic":
		// The electronic permit asks no reason.
		kind = permit.ElectronicPermit
		if req.Reason != "" {
			return nil, permit.Errorf(permit.ECodeReasonInvalid, "the electronic permit takes no reason")
		}
	default:
		return nil, &permit.Error{Code: permit.ECodeInvalid, Message: "unknown kind",
			Problems: []permit.Problem{{Field: "kind", Code: "kind_invalid", Reason: "temporary or electronic"}}}
	}
	pub, sig, err := req.parse()
	if err != nil {
		return nil, err
	}
	return s.a.Apply(r.Context(), token, authority.ApplyRequest{Kind: kind, Reason: reason, HolderKey: pub, Signature: sig,
		IdempotencyKey: r.Header.Get("Idempotency-Key")})
}

// endSession signs the applicant out on the API: the bearer token stops
// working.
func (s *Handler) endSession(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		if err == nil {
			err = s.a.SignOut(r.Context(), token)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// signOut ends the pages' session and forgets the cookies; without a
// session it only forgets them. The wallet's stored e-permit stays on the
// device: showing it needs no session.
func (s *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.a.SignOut(r.Context(), c.Value); err != nil {
			s.site.Error(w, r, err)
			return
		}
	}
	s.site.SetCookie(w, r, SessionCookie, "", "/app/", 0)
	s.site.SetCookie(w, r, ProofCookie, "", "/app/", 0)
	w.WriteHeader(http.StatusNoContent)
}

// credentials is the session's e-permits; on failure it has answered.
func (s *Handler) credentials(c channel, w http.ResponseWriter, r *http.Request) ([]permit.Credential, bool) {
	token, err := c.session(r)
	var cs []permit.Credential
	if err == nil {
		cs, err = s.a.MyCredentials(r.Context(), token)
	}
	if err != nil {
		s.site.Error(w, r, err)
		return nil, false
	}
	return cs, true
}

func (s *Handler) myEPermits(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs, ok := s.credentials(c, w, r)
		if !ok {
			return
		}
		out := make([]credentialJSON, len(cs))
		for i := range cs {
			out[i] = toJSON(&cs[i])
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"epermits": out})
	}
}

func (s *Handler) cancel(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		if err == nil {
			var cti []byte
			if cti, err = httpx.PathCTI(r); err == nil {
				err = s.a.CancelMine(r.Context(), token, cti)
			}
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Handler) eligibility(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		var e *authority.Eligibility
		if err == nil {
			e, err = s.a.Eligibility(r.Context(), token)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		scopes := make([]string, len(e.Scopes))
		for i, sc := range e.Scopes {
			scopes[i] = scopeName(sc)
		}
		left := -1 // no limit
		if e.MonthlyQuota > 0 {
			left = max(0, e.MonthlyQuota-e.UsedThisMonth)
		}
		w.Header().Set("Cache-Control", "no-store")
		out := map[string]any{"name": e.Name, "latin_name": e.LatinName,
			"document_type": e.DocumentType.String(), "document_number": e.DocumentNumber,
			"permit_expires_on": e.PermitExpiresOn.String(), "validity_days": e.ValidityDays,
			"monthly_quota": e.MonthlyQuota, "left_this_month": left, "scopes": scopes}
		if e.Refusal != nil {
			out["refusal"] = refusal(e.Refusal, e.NextApplication)
		}
		if el := e.Electronic; el != nil {
			// Only when the policy issues it: the long-lived kind, its own
			// validity, quota and scopes.
			es := make([]string, len(el.Scopes))
			for i, sc := range el.Scopes {
				es[i] = scopeName(sc)
			}
			left := -1
			if el.MonthlyQuota > 0 {
				left = max(0, el.MonthlyQuota-el.UsedThisMonth)
			}
			eo := map[string]any{"validity_days": el.ValidityDays, "monthly_quota": el.MonthlyQuota,
				"left_this_month": left, "scopes": es}
			if el.Refusal != nil {
				eo["refusal"] = refusal(el.Refusal, el.NextApplication)
			}
			out["electronic"] = eo
		}
		httpx.WriteJSON(w, http.StatusOK, out)
	}
}

// scopeName is a scope as the verify package names it.
func scopeName(s permit.Scope) string {
	switch s {
	case permit.ScopeFlight:
		return "flight"
	case permit.ScopeTrain:
		return "train"
	case permit.ScopeBorder:
		return "border"
	}
	return "unknown"
}

// sexName is a sex as the wallet's card shows it.
func sexName(s permit.Sex) string {
	switch s {
	case permit.Male:
		return "male"
	case permit.Female:
		return "female"
	}
	return "unknown"
}
