package web

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// Permit linkage over HTTP: holders ask for linkage proofs (SD-JWT VCs) and
// list them; institutions ask the authority directly whether two permits
// are linked. The printable result page is in linkage_page.go.

func (s *Server) linkageRoutes() {
	s.mux.HandleFunc("POST /api/v1/linkage", s.issueLinkage)
	s.mux.HandleFunc("GET /api/v1/linkage", s.myLinkageProofs)
	s.mux.HandleFunc("DELETE /api/v1/linkage/{cti}", s.cancel)
	s.mux.HandleFunc("POST /api/v1/linkage/check", s.checkLinkage)
	s.linkagePageRoutes()
}

type linkageRequest struct {
	HolderKey credential.JWK `json:"holder_key"`
	Signature string         `json:"signature"` // base64url r||s over the nonce
}

// linkageJSON is how the API shows a linkage proof to its holder.
type linkageJSON struct {
	ID          string    `json:"cti"`
	Credential  string    `json:"credential"` // the SD-JWT with all disclosures, `<jwt>~<d>~…~`
	State       string    `json:"state"`
	StateReason string    `json:"state_reason,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	ResultURL   string    `json:"result_url"` // the printable result
}

func (s *Server) linkageJSON(c *permit.Credential) linkageJSON {
	id := hex.EncodeToString(c.ID)
	return linkageJSON{ID: id, Credential: string(c.Token), State: string(c.State), StateReason: c.StateReason,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, ResultURL: s.a.Config().PublicURL + "/linkage/" + id}
}

func (s *Server) issueLinkage(w http.ResponseWriter, r *http.Request) {
	c, err := func() (*permit.Credential, error) {
		token, err := bearer(r)
		if err != nil {
			return nil, err
		}
		var req linkageRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			return nil, err
		}
		pub, err := req.HolderKey.Key()
		if err != nil {
			return nil, permit.Errorf(permit.ECodeInvalid, "holder_key: %v", err)
		}
		sig, err := b64url(req.Signature)
		if err != nil {
			return nil, err
		}
		return s.a.IssueLinkage(r.Context(), token, authority.LinkageRequest{HolderKey: pub, Signature: sig})
	}()
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, s.linkageJSON(c))
}

func (s *Server) myLinkageProofs(w http.ResponseWriter, r *http.Request) {
	token, err := bearer(r)
	var cs []permit.Credential
	if err == nil {
		cs, err = s.a.MyLinkageProofs(r.Context(), token)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]linkageJSON, len(cs))
	for i := range cs {
		out[i] = s.linkageJSON(&cs[i])
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"linkage_proofs": out})
}

type linkageCheckRequest struct {
	TravelPermitType      permit.DocumentType `json:"travel_permit_type"`
	TravelPermitNumber    string              `json:"travel_permit_number"`
	ResidencePermitNumber string              `json:"residence_permit_number"`
	Name                  string              `json:"name"`
	Purpose               string              `json:"purpose"`
}

func (s *Server) checkLinkage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.client(w, r, permit.RoleInstitution)
	if !ok {
		return
	}
	var req linkageCheckRequest
	if err := decode(w, r, maxJSONBody, &req); err != nil {
		s.error(w, r, err)
		return
	}
	ans, err := s.a.CheckLinkage(r.Context(), c, authority.LinkageCheck{TravelPermitType: req.TravelPermitType,
		TravelPermitNumber: req.TravelPermitNumber, ResidencePermitNumber: req.ResidencePermitNumber,
		Name: req.Name, Purpose: req.Purpose})
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ans)
}

func b64url(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "signature must be base64url")
	}
	return b, nil
}
