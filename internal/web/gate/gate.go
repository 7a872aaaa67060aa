// Package gate serves airline, railway and gate staff: the gate page that
// scans and checks an e-permit's QR in the browser, and the online
// verification API for registered verifiers that do not run the verify
// library (POST /api/v1/verify, and the holder's portrait for a face
// comparison).
package gate

import (
	"context"
	"embed"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

//go:embed templates/gate.html
var templates embed.FS

var gatePage = httpx.PageTemplate(templates, "templates/gate.html")

// Authority is what the gate's endpoints ask of the authority.
type Authority interface {
	VerifyPresentation(ctx context.Context, c *permit.Client, text string, use verify.Use) (*verify.Result, error)
	Portrait(ctx context.Context, c *permit.Client, cti []byte) ([]byte, error)
	Policy() permit.Policy
}

// Handler serves the gate's page and API.
type Handler struct {
	site          *httpx.Site
	clients       *httpx.Clients
	a             Authority
	verifications *prometheus.CounterVec // by decision and failure code
}

// New returns the gate's handler. verifications counts online
// verifications by decision and failure code.
func New(site *httpx.Site, clients *httpx.Clients, a Authority, verifications *prometheus.CounterVec) *Handler {
	return &Handler{site: site, clients: clients, a: a, verifications: verifications}
}

// gateData is the gate page's data: border control is offered only when the
// policy allows the border scope.
type gateData struct {
	httpx.PageData
	Border bool
}

func (s *Handler) page(w http.ResponseWriter, r *http.Request) {
	if s.site.LangSwitch(w, r) {
		return
	}
	p := s.site.Page(w, r, "gate")
	p.Messages = httpx.Messages(p.Lang) // the scripts' words, as PageHandler gives them
	s.site.Render(w, r, http.StatusOK, gatePage, "layout", p.Lang, gateData{p, s.a.Policy().AllowBorder})
}

// Register adds the gate's routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /gate", s.page)
	mux.HandleFunc("POST /api/v1/verify", s.verifyPresentation)
	mux.HandleFunc("GET /api/v1/credentials/{cti}/portrait", s.portrait)
}
