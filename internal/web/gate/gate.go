// Package gate serves airline, railway and gate staff: the gate page that
// scans and checks an e-permit's QR in the browser, and the online
// verification API for registered verifiers that do not run the verify
// library (POST /api/v1/verify, and the holder's portrait for a face
// comparison).
package gate

import (
	"context"
	"embed"
	"io/fs"
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

// Scope is the path the gate page's service worker controls: the page
// alone.
const Scope = "/gate"

// Handler serves the gate's page and API.
type Handler struct {
	site          *httpx.Site
	clients       *httpx.Clients
	a             Authority
	static        fs.FS                        // the pages' assets, static/js/gate-sw.js among them
	verifications *prometheus.CounterVec       // by decision and failure code
	messages      map[string]map[string]string // per language, the catalogue entries the page's scripts use
}

// New returns the gate's handler. static holds the pages' assets;
// verifications counts online verifications by decision and failure code.
func New(site *httpx.Site, clients *httpx.Clients, a Authority, static fs.FS, verifications *prometheus.CounterVec) *Handler {
	return &Handler{site: site, clients: clients, a: a, static: static, verifications: verifications,
		messages: site.PageMessages(gatePage, func(p httpx.PageData) any { return gateData{p, true} })}
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
	p.Messages = s.messages[p.Lang] // the words the page's scripts ask for
	s.site.Render(w, r, http.StatusOK, gatePage, "layout", p.Lang, gateData{p, s.a.Policy().AllowBorder})
}

// Register adds the gate's routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /gate", s.page)
	mux.HandleFunc("GET /static/js/gate-sw.js", s.site.ServiceWorker(s.static, "js/gate-sw.js", Scope))
	mux.HandleFunc("POST /api/v1/verify", s.verifyPresentation)
	mux.HandleFunc("GET /api/v1/credentials/{cti}/portrait", s.portrait)
}
