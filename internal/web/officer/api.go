package officer

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"github.com/epermit/epermit/credential"
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

// counterIssueRequest is a counter issuance from an officer's own tool: the
// permit the officer checked in person and the device key the holder
// presented.
type counterIssueRequest struct {
	Kind               string         `json:"kind"` // epermit (default) or linkage
	TravelPermitType   string         `json:"travel_permit_type"`
	TravelPermitNumber string         `json:"travel_permit_number"`
	Reason             string         `json:"reason"` // for an e-permit
	HolderKey          credential.JWK `json:"holder_key"`
}

// issueAtCounter serves POST /api/v1/credentials: the console's counter
// issuance for an officer's tool, under the officer's key and audited under
// their name.
func (s *Handler) issueAtCounter(w http.ResponseWriter, r *http.Request) {
	o, ok := s.clients.Client(w, r, permit.RoleOfficer)
	if !ok {
		return
	}
	var req counterIssueRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		s.site.Error(w, r, err)
		return
	}
	cred, err := s.counterIssue(authority.WithActor(r.Context(), "officer:"+o.Name), req)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	text, kind := base64.RawURLEncoding.EncodeToString(cred.Token), "epermit"
	if cred.Kind == permit.LinkageProofKind {
		text, kind = string(cred.Token), "linkage" // an SD-JWT is already text
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"cti": hex.EncodeToString(cred.ID), "kind": kind,
		"credential": text, "expires_at": cred.ExpiresAt, "status_list": s.a.StatusListURI(cred.StatusList),
		"status_index": cred.StatusIndex})
}

func (s *Handler) counterIssue(ctx context.Context, req counterIssueRequest) (*permit.Credential, error) {
	pub, err := req.HolderKey.Key()
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "holder_key: %v", err)
	}
	t, err := permit.ParseDocumentType(req.TravelPermitType)
	if err != nil {
		return nil, err
	}
	switch req.Kind {
	case "linkage":
		return s.a.IssueLinkageAtCounter(ctx, t, req.TravelPermitNumber, pub)
	case "", "epermit":
		reason, err := permit.ParseReason(req.Reason)
		if err != nil {
			return nil, err
		}
		return s.a.IssueAtCounter(ctx, t, req.TravelPermitNumber, reason, pub)
	}
	return nil, permit.Errorf(permit.ECodeInvalid, "kind must be epermit or linkage")
}
