package applicant

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// A holder's linkage proofs (SD-JWT VCs): asking for one and listing
// them. Institutions check linkage in package institution; the printable
// result is in result.go.

type linkageRequest struct {
	holderProof
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

func (s *Handler) linkageJSON(c *permit.Credential) linkageJSON {
	id := hex.EncodeToString(c.ID)
	return linkageJSON{ID: id, Credential: string(c.Token), State: string(c.State), StateReason: c.StateReason,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, ResultURL: s.publicURL + "/linkage/" + id}
}

func (s *Handler) issueLinkage(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, err := s.linkageRequest(c, w, r)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusCreated, s.linkageJSON(cred))
	}
}

func (s *Handler) linkageRequest(c channel, w http.ResponseWriter, r *http.Request) (*permit.Credential, error) {
	token, err := c.session(r)
	if err != nil {
		return nil, err
	}
	var req linkageRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		return nil, err
	}
	pub, sig, err := req.parse()
	if err != nil {
		return nil, err
	}
	return s.a.IssueLinkage(r.Context(), token, authority.LinkageRequest{HolderKey: pub, Signature: sig})
}

func (s *Handler) myLinkageProofs(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		var cs []permit.Credential
		if err == nil {
			cs, err = s.a.MyLinkageProofs(r.Context(), token)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		out := make([]linkageJSON, len(cs))
		for i := range cs {
			out[i] = s.linkageJSON(&cs[i])
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"linkage_proofs": out})
	}
}
