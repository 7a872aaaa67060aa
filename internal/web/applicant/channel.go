package applicant

import (
	"net/http"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Cookie names of the pages. The proofing secret and the applicant session
// are bearer credentials: HttpOnly, SameSite=Strict, scoped to /app/.
const (
	ProofCookie   = "ep_proof"
	SessionCookie = "ep_session"
)

// channel is how a client reaches the applicant's steps: where a step finds
// the proofing secret and the session token, and how it answers a proofing
// step. Every other answer is the same JSON on both channels.
type channel interface {
	proofingSecret(r *http.Request) (string, error)
	session(r *http.Request) (string, error)
	started(w http.ResponseWriter, r *http.Request, st *authority.ProofingStarted)
	state(w http.ResponseWriter, r *http.Request, st *authority.ProofingState)
}

// apiChannel is the JSON API's: the client keeps both secrets and sends
// them as bearer credentials.
type apiChannel struct{}

func (apiChannel) proofingSecret(r *http.Request) (string, error) { return httpx.Bearer(r) }
func (apiChannel) session(r *http.Request) (string, error)        { return httpx.Bearer(r) }

func (apiChannel) started(w http.ResponseWriter, r *http.Request, st *authority.ProofingStarted) {
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"session": st.Secret, "phone_hint": st.PhoneHint,
		"code_expires_at": st.CodeExpiresAt, "next": "code"})
}

func (apiChannel) state(w http.ResponseWriter, r *http.Request, st *authority.ProofingState) {
	out := map[string]any{"state": st.State}
	if st.Token != "" {
		out["token"], out["token_expires_at"] = st.Token, st.ExpiresAt
	}
	if st.Refusal != nil {
		out["refusal"] = refusal(st.Refusal, st.NextApplication)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// pageChannel is the pages': both secrets live in HttpOnly cookies and
// never in a body the scripts could read.
type pageChannel struct{ site *httpx.Site }

func (pageChannel) proofingSecret(r *http.Request) (string, error) {
	return cookie(r, ProofCookie, "no proofing session")
}

func (pageChannel) session(r *http.Request) (string, error) {
	return cookie(r, SessionCookie, "sign in again: no session")
}

func cookie(r *http.Request, name, missing string) (string, error) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return "", permit.Errorf(permit.ECodeUnauthorized, "%s", missing)
	}
	return c.Value, nil
}

func (c pageChannel) started(w http.ResponseWriter, r *http.Request, st *authority.ProofingStarted) {
	c.site.SetCookie(w, r, ProofCookie, st.Secret, "/app/", authority.ProofingTTL)
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"phone_hint": st.PhoneHint,
		"code_expires_at": st.CodeExpiresAt, "next": "code"})
}

// state answers a proofing step. A verified session's token goes into the
// session cookie and never into the body.
func (c pageChannel) state(w http.ResponseWriter, r *http.Request, st *authority.ProofingState) {
	if st.Token != "" {
		c.site.SetCookie(w, r, SessionCookie, st.Token, "/app/", time.Until(st.ExpiresAt))
		c.site.SetCookie(w, r, ProofCookie, "", "/app/", 0)
	}
	out := map[string]any{"state": st.State, "session_expires_at": st.ExpiresAt}
	if st.Refusal != nil {
		out["refusal"] = refusal(st.Refusal, st.NextApplication)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// refusal is what the rules will refuse, told ahead of the application:
// the code and message the application would get, and with the quota the
// first instant it allows one again.
func refusal(err error, next time.Time) map[string]any {
	out := map[string]any{"code": permit.ErrorCode(err), "detail": permit.ErrorMessage(err)}
	if !next.IsZero() {
		out["next_application_from"] = next
	}
	return out
}

// signedIn answers GET /app/session: whether this browser holds an
// applicant session cookie, always with 200. The pages ask it before the
// session's own calls (/app/me, /app/epermits, /app/linkage), which answer
// 401 without a session as the API does: a signed-out visitor is the
// common case, not an error, and should not fill the console with failed
// requests. It reads only the cookie's presence; the calls themselves
// still check the session (the cookie lives as long as the session, so a
// stale one is rare: a session ended from elsewhere).
func (s *Handler) signedIn(w http.ResponseWriter, r *http.Request) {
	_, err := s.page.session(r)
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"signed_in": err == nil})
}
