// Package officer serves exit-entry officers and their admins: the officer
// console, server-rendered pages under /officer/ (look up, issue at the
// counter, review face checks, revoke, read the audit trail; admins manage
// verifiers, institutions and officers), and the officer API for officers'
// own tools (counter issuance, revoke, suspend, reinstate under
// /api/v1/credentials).
//
// The console needs no script: every action is a plain POST form. Officers
// sign in with their name and personal officer key; the browser then holds
// only a session token in SessionCookie. Every POST must carry the ep_csrf
// double-submit token as the form field "csrf" and, when the browser sends
// Origin, come from this server. Personal data never goes into a URL:
// lookups are POSTed, portraits are named by sealed handles. On the API,
// each officer authenticates with their key, and every change is audited
// under "officer:NAME".
package officer

import (
	"context"
	"crypto/ecdsa"
	"net/http"
	"time"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Authority is what the officers' pages and API ask of the authority.
type Authority interface {
	OfficerSignIn(ctx context.Context, name, key, from string) (string, *permit.Client, error)
	OfficerSession(ctx context.Context, token string) (*permit.Client, error)
	OfficerSignOut(ctx context.Context, token string) error
	LookUpPerson(ctx context.Context, t permit.DocumentType, number string) (*authority.PersonFile, error)
	PersonPortrait(ctx context.Context, personID int64) ([]byte, error)
	IssueAtCounter(ctx context.Context, t permit.DocumentType, number string, reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error)
	IssueLinkageAtCounter(ctx context.Context, t permit.DocumentType, number string, holder *ecdsa.PublicKey) (*permit.Credential, error)
	OfferAtCounter(ctx context.Context, req authority.OfferRequest) (*authority.Offer, error)
	OfferByCode(ctx context.Context, code string) (*authority.Offer, error)
	PendingFaceReviews(ctx context.Context) ([]authority.FaceReview, error)
	PendingFaceReview(ctx context.Context, id int64) (*authority.FaceReview, error)
	ReviewFace(ctx context.Context, id int64, approve bool, note string) error
	Revoke(ctx context.Context, cti []byte, reason string) (*permit.Credential, error)
	Suspend(ctx context.Context, cti []byte, reason string) (*permit.Credential, error)
	Reinstate(ctx context.Context, cti []byte, reason string) (*permit.Credential, error)
	StatusListURI(n int64) string
	AuditEventsBefore(ctx context.Context, subject string, before int64) ([]audit.Event, error)
	VerifyAudit(ctx context.Context) (int64, error)
	Clients(ctx context.Context, role string) ([]permit.Client, error)
	AddClient(ctx context.Context, role, name, category string) (*permit.Client, string, error)
	RotateClientKey(ctx context.Context, role, name string) (string, error)
	SetClientDisabled(ctx context.Context, role, name string, disabled bool) error
}

// Handler serves the officer console and the officer API.
type Handler struct {
	site    *httpx.Site
	clients *httpx.Clients
	a       Authority
	// Zone is the time zone the console shows times in, each labelled
	// with it; China time (Asia/Shanghai) when nil.
	Zone *time.Location
}

// stamp is an instant as the console shows it: in the console's zone,
// with the zone's name.
func (s *Handler) stamp(t time.Time) string {
	z := s.Zone
	if z == nil {
		z = permit.ChinaTime
	}
	return t.In(z).Format("2006-01-02 15:04:05 MST")
}

// New returns the officers' handler.
func New(site *httpx.Site, clients *httpx.Clients, a Authority) *Handler {
	return &Handler{site: site, clients: clients, a: a}
}

// Register adds the console's and the officer API's routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /officer/signin", s.consoleSignInPage)
	mux.HandleFunc("POST /officer/signin", s.csrf(s.consoleSignIn))
	mux.HandleFunc("POST /officer/signout", s.csrf(s.consoleSignOut))
	mux.HandleFunc("GET /officer/{$}", s.signedIn(false, s.consoleHome))
	mux.HandleFunc("GET /officer/lookup", s.signedIn(false, s.consoleLookupPage))
	mux.HandleFunc("POST /officer/lookup", s.signedIn(false, s.consoleLookup))
	mux.HandleFunc("GET /officer/portrait/{handle}", s.signedIn(false, s.consolePortrait))
	mux.HandleFunc("GET /officer/issue", s.signedIn(false, s.consoleIssuePage))
	mux.HandleFunc("POST /officer/issue", s.signedIn(false, s.consoleIssue))
	mux.HandleFunc("POST /officer/offer", s.signedIn(false, s.consoleOffer))
	mux.HandleFunc("GET /officer/offers/{code}/qr.png", s.signedIn(false, s.consoleOfferQR))
	mux.HandleFunc("GET /officer/faces", s.signedIn(false, s.consoleFaces))
	mux.HandleFunc("GET /officer/faces/{id}/{which}", s.signedIn(false, s.consoleFaceImage))
	mux.HandleFunc("POST /officer/faces/{id}", s.signedIn(false, s.consoleReviewFace))
	mux.HandleFunc("POST /officer/credentials/{cti}", s.signedIn(false, s.consoleCredential))
	mux.HandleFunc("GET /officer/audit", s.signedIn(false, s.consoleAudit))
	mux.HandleFunc("POST /officer/audit", s.signedIn(false, s.consoleAudit))
	mux.HandleFunc("POST /officer/audit/verify", s.signedIn(false, s.consoleVerifyAudit))
	mux.HandleFunc("GET /officer/admin/{role}", s.signedIn(true, s.consoleAdmin))
	mux.HandleFunc("POST /officer/admin/{role}", s.signedIn(true, s.consoleAdmin))

	mux.HandleFunc("POST /api/v1/credentials", s.issueAtCounter)
	mux.HandleFunc("POST /api/v1/credentials/{cti}/revoke", s.officerAction("revoke"))
	mux.HandleFunc("POST /api/v1/credentials/{cti}/suspend", s.officerAction("suspend"))
	mux.HandleFunc("POST /api/v1/credentials/{cti}/reinstate", s.officerAction("reinstate"))
}

// stateChange is the authority's use case for a credential action
// (revoke, suspend, reinstate), or nil for another word.
func (s *Handler) stateChange(action string) func(context.Context, []byte, string) (*permit.Credential, error) {
	switch action {
	case "revoke":
		return s.a.Revoke
	case "suspend":
		return s.a.Suspend
	case "reinstate":
		return s.a.Reinstate
	}
	return nil
}
