// Package institution serves banks, telecoms and internet services that
// registered as institutions: they ask the authority directly whether a
// travel permit and a residence permit belong to the same person
// (POST /api/v1/linkage/check), or ask the holder for claims of a linkage
// proof over OpenID4VP (POST /api/v1/presentations, then
// GET /api/v1/presentations/{id} for the result), under their own API key
// and rate limit, each query audited under their name.
package institution

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Authority is what the institutions' endpoint asks of the authority.
type Authority interface {
	CheckLinkage(ctx context.Context, c *permit.Client, q authority.LinkageCheck) (*authority.LinkageAnswer, error)
	CreatePresentation(ctx context.Context, c *permit.Client, query json.RawMessage, purpose string) (*authority.PresentationRequest, error)
	PresentationResult(ctx context.Context, c *permit.Client, id string) (*authority.PresentationOutcome, error)
}

// Handler serves the institutions' API.
type Handler struct {
	site    *httpx.Site
	clients *httpx.Clients
	a       Authority
}

// New returns the institutions' handler.
func New(site *httpx.Site, clients *httpx.Clients, a Authority) *Handler {
	return &Handler{site: site, clients: clients, a: a}
}

// Register adds the institutions' routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/linkage/check", s.checkLinkage)
	mux.HandleFunc("POST /api/v1/presentations", s.createPresentation)
	mux.HandleFunc("GET /api/v1/presentations/{id}", s.presentation)
}

type linkageCheckRequest struct {
	TravelPermitType      permit.DocumentType `json:"travel_permit_type"`
	TravelPermitNumber    string              `json:"travel_permit_number"`
	ResidencePermitNumber string              `json:"residence_permit_number"`
	Name                  string              `json:"name"`
	Purpose               string              `json:"purpose"`
}

func (s *Handler) checkLinkage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clients.Client(w, r, permit.RoleInstitution)
	if !ok {
		return
	}
	var req linkageCheckRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		s.site.Error(w, r, err)
		return
	}
	ans, err := s.a.CheckLinkage(r.Context(), c, authority.LinkageCheck{TravelPermitType: req.TravelPermitType,
		TravelPermitNumber: req.TravelPermitNumber, ResidencePermitNumber: req.ResidencePermitNumber,
		Name: req.Name, Purpose: req.Purpose})
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, ans)
}

type presentationRequest struct {
	DCQLQuery json.RawMessage `json:"dcql_query"`
	Purpose   string          `json:"purpose"`
}

func (s *Handler) createPresentation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clients.Client(w, r, permit.RoleInstitution)
	if !ok {
		return
	}
	var req presentationRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		s.site.Error(w, r, err)
		return
	}
	pr, err := s.a.CreatePresentation(r.Context(), c, req.DCQLQuery, req.Purpose)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, pr)
}

func (s *Handler) presentation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clients.Client(w, r, permit.RoleInstitution)
	if !ok {
		return
	}
	o, err := s.a.PresentationResult(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, o)
}
