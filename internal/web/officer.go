package web

import (
	"context"
	"encoding/hex"
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// Officer actions over the API, for officers' own tools: each officer has
// a personal key (`epermit officer add`), and every change is audited
// under "officer:NAME".

func (s *Server) officerRoutes() {
	s.mux.HandleFunc("POST /api/v1/credentials/{cti}/revoke", s.officerAction((*authority.Authority).Revoke))
	s.mux.HandleFunc("POST /api/v1/credentials/{cti}/suspend", s.officerAction((*authority.Authority).Suspend))
	s.mux.HandleFunc("POST /api/v1/credentials/{cti}/reinstate", s.officerAction((*authority.Authority).Reinstate))
}

type officerActionRequest struct {
	Reason string `json:"reason"`
}

// officerAction serves one state change of a credential: authenticate the
// officer, read the reason, apply, answer with the new state.
func (s *Server) officerAction(do func(*authority.Authority, context.Context, []byte, string) (*permit.Credential, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := s.client(w, r, permit.RoleOfficer)
		if !ok {
			return
		}
		cti, err := pathCTI(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var req officerActionRequest
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			s.error(w, r, err)
			return
		}
		ctx := authority.WithActor(r.Context(), "officer:"+o.Name)
		c, err := do(s.a, ctx, cti, req.Reason)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"cti": hex.EncodeToString(c.ID), "state": c.State,
			"reason": c.StateReason, "status_list": s.a.StatusListURI(c.StatusList), "status_index": c.StatusIndex})
	}
}
