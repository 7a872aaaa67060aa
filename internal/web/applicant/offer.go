package applicant

import (
	"net/http"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// "Add to another wallet": a proven applicant asks for an OpenID4VCI
// credential offer instead of today's path, for any conformant wallet; the
// transaction code goes to the phone on record.

type offerRequest struct {
	Kind   string `json:"kind"`   // epermit or linkage
	Reason string `json:"reason"` // e-permits only
}

func (s *Handler) offer(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, err := c.session(r)
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		var req offerRequest
		if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
			s.site.Error(w, r, err)
			return
		}
		kind, reason := permit.TemporaryEPermit, permit.Reason(0)
		switch req.Kind {
		case "linkage":
			kind = permit.LinkageProofKind
		case "epermit":
			if reason, err = permit.ParseReason(req.Reason); err != nil {
				s.site.Error(w, r, err)
				return
			}
		default:
			s.site.Error(w, r, permit.Errorf(permit.ECodeInvalid, "kind must be epermit or linkage"))
			return
		}
		o, err := s.a.OfferMine(r.Context(), token, kind, reason, httpx.PickLang(r))
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusCreated, map[string]any{"credential_offer_uri": o.ByReference(),
			"credential_offer": o.ByValue(), "credential_configuration_id": o.ConfigurationID,
			"expires_at": o.ExpiresAt, "phone_hint": o.PhoneHint})
	}
}
