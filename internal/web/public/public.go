// Package public serves what anyone may fetch without an account: the
// trust list and status lists that gates and institutions verify with,
// the static assets of every page, and the health and readiness probes of
// the operator's orchestrator.
package public

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Authority is what the public endpoints ask of the authority.
type Authority interface {
	Ready(ctx context.Context) error
	PolicyHash() string
	TrustList(ctx context.Context) (*credential.JWKSet, error)
	StatusListToken(ctx context.Context, n int64, form authority.StatusForm) (*authority.StatusToken, error)
}

// Handler serves the public endpoints.
type Handler struct {
	site   *httpx.Site
	a      Authority
	static fs.FS
}

// New returns the public endpoints' handler; static holds the pages'
// assets, served under /static/.
func New(site *httpx.Site, a Authority, static fs.FS) *Handler {
	return &Handler{site: site, a: a, static: static}
}

// Register adds the public routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET /s/{n}", s.statusList)
	files := http.StripPrefix("/static/", http.FileServerFS(filesOnly{s.static}))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Short caching: assets are not fingerprinted, and a fix must reach
		// phones the same day.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
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

// filesOnly serves the files of an fs.FS and hides its directories, so a
// file server gives 404 for a directory rather than a listing.
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
