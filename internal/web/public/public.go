//go:generate go run ./genicons ../static/icons
//go:generate go run ./genbrotli ../static/vendor

// Package public serves what anyone may fetch without an account: the
// trust list and status lists that gates and institutions verify with,
// the static assets of every page, and the health and readiness probes of
// the operator's orchestrator.
package public

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Authority is what the public endpoints ask of the authority.
type Authority interface {
	Ready(ctx context.Context) error
	PolicyHash() string
	TrustList(ctx context.Context) (*credential.JWKSet, error)
	SignedTrustList(ctx context.Context) (*store.TrustListRecord, error)
	TrustRoot(ctx context.Context) ([]byte, error)
	StatusListToken(ctx context.Context, n int64, form authority.StatusForm) (*authority.StatusToken, error)
}

// Handler serves the public endpoints.
type Handler struct {
	site   *httpx.Site
	a      Authority
	assets *assets
}

// New returns the public endpoints' handler; static holds the pages'
// assets, served under /static/.
func New(site *httpx.Site, a Authority, static fs.FS) *Handler {
	return &Handler{site: site, a: a, assets: newAssets(static)}
}

// Register adds the public routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET /.well-known/epermit-trust-list", s.signedTrustList)
	mux.HandleFunc("GET /.well-known/epermit-root.pem", s.rootPEM)
	mux.HandleFunc("GET /s/{n}", s.statusList)
	mux.HandleFunc("GET /static/", s.assets.handler("/static/"))
	// Where browsers and phones look for icons without asking the page.
	mux.HandleFunc("GET /favicon.ico", s.file("icons/favicon.ico"))
	mux.HandleFunc("GET /apple-touch-icon.png", s.file("icons/apple-touch-icon.png"))
	mux.HandleFunc("GET /manifest.webmanifest", s.manifest)
}

// file serves the static file at name (inside the assets) on a path of
// its own.
func (s *Handler) file(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := s.assets.open(name)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		s.assets.serve(w, r, f, staticCacheControl)
	}
}

func (s *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.a.Ready(ctx); err != nil {
		s.site.Log.Warn("not ready", "err", err)
		msg := "the store is unreachable"
		if permit.ErrorCode(err) == permit.ECodeNotReady {
			msg = permit.ErrorMessage(err)
		}
		httpx.WriteProblem(w, permit.ECodeNotReady, msg)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "policy": s.a.PolicyHash()})
}

func (s *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := s.a.TrustList(r.Context())
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(set)
}

// signedTrustList serves the newest trust list the root signed (spec §1.2);
// 404 when the authority runs without a root.
func (s *Handler) signedTrustList(w http.ResponseWriter, r *http.Request) {
	l, err := s.a.SignedTrustList(r.Context())
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	etag := fmt.Sprintf(`"trust-list-%d"`, l.Seq)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", pki.TrustListMediaType)
	w.Header().Set("Last-Modified", l.IssuedAt.UTC().Format(http.TimeFormat))
	io.WriteString(w, l.Document)
}

// rootPEM serves the root certificate, for convenience only: a gate is
// configured with it out of band, after comparing its fingerprint.
func (s *Handler) rootPEM(w http.ResponseWriter, r *http.Request) {
	der, err := s.a.TrustRoot(r.Context())
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(pki.EncodePEM(pki.PEMCertificate, der))
}
