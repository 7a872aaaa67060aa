package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// Online verification for registered verifiers (airlines, railways, …)
// that do not run the verify library: POST /api/v1/verify, and the
// holder's portrait for a face comparison.

func (s *Server) verifierRoutes() {
	s.mux.HandleFunc("POST /api/v1/verify", s.verifyPresentation)
	s.mux.HandleFunc("GET /api/v1/credentials/{cti}/portrait", s.portrait)
}

// client authenticates a relying party of role by its API key and applies
// its own rate limit, so one noisy client cannot starve the others.
func (s *Server) client(w http.ResponseWriter, r *http.Request, role string) (*permit.Client, bool) {
	key, err := bearer(r)
	var c *permit.Client
	if err == nil {
		c, err = s.a.AuthenticateClient(r.Context(), role, key)
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="epermit"`)
		s.error(w, r, err)
		return nil, false
	}
	if !s.clients.allow(strconv.FormatInt(c.ID, 10), time.Now()) {
		w.Header().Set("Retry-After", "1")
		s.problem(w, r, permit.ECodeRateLimited, "too many requests for this client; slow down")
		return nil, false
	}
	return c, true
}

type verifyRequest struct {
	QR  string     `json:"qr"`
	Use verify.Use `json:"use"`
}

func (s *Server) verifyPresentation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.client(w, r, permit.RoleVerifier)
	if !ok {
		return
	}
	var req verifyRequest
	if err := decode(w, r, maxJSONBody, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := verify.ParseUse(string(req.Use)); err != nil {
		s.error(w, r, permit.Errorf(permit.ECodeInvalid, "use must be flight, train or border"))
		return
	}
	res, err := s.a.VerifyPresentation(r.Context(), c, req.QR, req.Use)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.metrics.verifications.WithLabelValues(string(res.Decision), string(res.Code)).Inc()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) portrait(w http.ResponseWriter, r *http.Request) {
	c, ok := s.client(w, r, permit.RoleVerifier)
	if !ok {
		return
	}
	cti, err := pathCTI(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	image, err := s.a.Portrait(r.Context(), c, cti)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(image))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(image)
}
