package officer

import (
	"encoding/hex"
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

type officerActionRequest struct {
	Reason string `json:"reason"`
}

// officerAction serves one state change of a credential over the API:
// authenticate the officer, read the reason, apply, answer with the new
// state.
func (s *Handler) officerAction(action string) http.HandlerFunc {
	do := s.stateChange(action)
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.clients.Client(w, r, permit.RoleOfficer)
		if !ok {
			return
		}
		cti, err := httpx.PathCTI(r)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		var req officerActionRequest
		if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
			s.site.Error(w, r, err)
			return
		}
		ctx := authority.WithActor(r.Context(), "officer:"+o.Name)
		c, err := do(ctx, cti, req.Reason)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"cti": hex.EncodeToString(c.ID), "state": c.State,
			"reason": c.StateReason, "status_list": s.a.StatusListURI(c.StatusList), "status_index": c.StatusIndex})
	}
}
