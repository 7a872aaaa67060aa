// Package applicant serves applicants and holders: the home, apply and
// wallet pages; identity proofing, e-permits and linkage proofs, both as
// the JSON API (/api/v1/) for apps and as the pages' endpoints (/app/);
// the wallet's service worker; and the printable linkage result.
//
// Each step is one handler; a channel passed in says where its credentials
// come from and how it answers. On the API the proofing secret and the
// session token are bearer credentials the client keeps; on the pages they
// travel only in HttpOnly cookies, never in URLs or script-visible storage
// (docs/pages.md has the reasoning).
package applicant

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

//go:embed templates
var templates embed.FS

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"home", "apply", "wallet"} {
		out[name] = httpx.PageTemplate(templates, "templates/"+name+".html")
	}
	return out
}()

// Authority is what the applicant's endpoints ask of the authority.
type Authority interface {
	StartProofing(ctx context.Context, in authority.ProofingStart) (*authority.ProofingStarted, error)
	SubmitCode(ctx context.Context, secret, code string) (*authority.ProofingState, error)
	ResendCode(ctx context.Context, secret, lang string) (*authority.ProofingStarted, error)
	SubmitFace(ctx context.Context, secret string, selfie []byte) (*authority.ProofingState, error)
	ProofingStatus(ctx context.Context, secret string) (*authority.ProofingState, error)
	Eligibility(ctx context.Context, token string) (*authority.Eligibility, error)
	Nonce(ctx context.Context, token string) (string, time.Time, error)
	Apply(ctx context.Context, token string, req authority.ApplyRequest) (*permit.Credential, error)
	MyCredentials(ctx context.Context, token string) ([]permit.Credential, error)
	CancelMine(ctx context.Context, token string, cti []byte) error
	SignOut(ctx context.Context, token string) error
	IssueLinkage(ctx context.Context, token string, req authority.LinkageRequest) (*permit.Credential, error)
	MyLinkageProofs(ctx context.Context, token string) ([]permit.Credential, error)
	LinkageResultByID(ctx context.Context, id []byte) (*authority.LinkageResult, error)
	OfferMine(ctx context.Context, token string, kind permit.Kind, reason permit.Reason, lang string) (*authority.Offer, error)
}

// Handler serves the applicant's pages and endpoints.
type Handler struct {
	site      *httpx.Site
	a         Authority
	publicURL string         // where printed linkage results point
	static    fs.FS          // the pages' assets, for the service worker
	outbox    *notify.Outbox // the demo's text messages; nil outside the demo
	api       channel
	page      channel
}

// New returns the applicant's handler. publicURL is the server's public
// base URL; static holds the pages' assets (static/js/sw.js among them);
// outbox, set only by the demo, is shown at /demo/outbox.
func New(site *httpx.Site, a Authority, publicURL string, static fs.FS, outbox *notify.Outbox) *Handler {
	return &Handler{site: site, a: a, publicURL: publicURL, static: static, outbox: outbox,
		api: apiChannel{}, page: pageChannel{site: site}}
}

// Register adds the applicant's routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	api, page, csrf := s.api, s.page, s.site.CSRF
	mux.HandleFunc("POST /api/v1/proofing", s.startProofing(api))
	mux.HandleFunc("GET /api/v1/proofing", s.proofingStatus(api))
	mux.HandleFunc("POST /api/v1/proofing/code", s.submitCode(api))
	mux.HandleFunc("POST /api/v1/proofing/resend", s.resendCode(api))
	mux.HandleFunc("POST /api/v1/proofing/face", s.submitFace(api))
	mux.HandleFunc("POST /api/v1/nonce", s.nonce(api))
	mux.HandleFunc("POST /api/v1/epermits", s.apply(api))
	mux.HandleFunc("GET /api/v1/epermits", s.myEPermits(api))
	mux.HandleFunc("DELETE /api/v1/epermits/{cti}", s.cancel(api))
	mux.HandleFunc("DELETE /api/v1/session", s.endSession(api))
	mux.HandleFunc("POST /api/v1/linkage", s.issueLinkage(api))
	mux.HandleFunc("GET /api/v1/linkage", s.myLinkageProofs(api))
	mux.HandleFunc("DELETE /api/v1/linkage/{cti}", s.cancel(api))
	mux.HandleFunc("POST /api/v1/offers", s.offer(api))

	mux.HandleFunc("GET /{$}", s.site.PageHandler(pages["home"], "home"))
	mux.HandleFunc("GET /apply", s.site.PageHandler(pages["apply"], "apply"))
	mux.HandleFunc("GET /wallet", s.site.PageHandler(pages["wallet"], "wallet"))
	mux.HandleFunc("POST /app/proofing", csrf(s.startProofing(page)))
	mux.HandleFunc("GET /app/proofing", s.proofingStatus(page))
	mux.HandleFunc("POST /app/proofing/code", csrf(s.submitCode(page)))
	mux.HandleFunc("POST /app/proofing/resend", csrf(s.resendCode(page)))
	mux.HandleFunc("POST /app/proofing/face", csrf(s.submitFace(page)))
	mux.HandleFunc("GET /app/session", s.signedIn)
	mux.HandleFunc("GET /app/me", s.eligibility(page))
	mux.HandleFunc("POST /app/nonce", csrf(s.nonce(page)))
	mux.HandleFunc("POST /app/epermits", csrf(s.apply(page)))
	mux.HandleFunc("GET /app/epermits", s.walletEPermits(page))
	mux.HandleFunc("POST /app/epermits/{cti}/cancel", csrf(s.cancel(page)))
	mux.HandleFunc("POST /app/signout", csrf(s.signOut))
	mux.HandleFunc("POST /app/linkage", csrf(s.issueLinkage(page)))
	mux.HandleFunc("GET /app/linkage", s.myLinkageProofs(page))
	mux.HandleFunc("POST /app/linkage/{cti}/cancel", csrf(s.cancel(page)))
	mux.HandleFunc("POST /app/offers", csrf(s.offer(page)))
	// More specific than GET /static/, so it wins for this one file.
	mux.HandleFunc("GET /static/js/sw.js", s.site.ServiceWorker(s.static, "js/sw.js", WalletScope))

	mux.HandleFunc("GET /linkage/print.css", s.linkageCSS)
	mux.HandleFunc("GET /linkage/{id}", s.linkagePage)
	mux.HandleFunc("GET /linkage/{id}/qr.png", s.linkageQR)
	if s.outbox != nil {
		mux.HandleFunc("GET /demo/outbox", s.demoOutbox)
	}
}

func (s *Handler) demoOutbox(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"demo": true, "messages": s.outbox.Messages()})
}
