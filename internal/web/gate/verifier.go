package gate

import (
	"net/http"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

type verifyRequest struct {
	QR  string     `json:"qr"`
	Use verify.Use `json:"use"`
}

func (s *Handler) verifyPresentation(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clients.Client(w, r, permit.RoleVerifier)
	if !ok {
		return
	}
	var req verifyRequest
	if err := httpx.Decode(w, r, httpx.MaxJSONBody, &req); err != nil {
		s.site.Error(w, r, err)
		return
	}
	if _, err := verify.ParseUse(string(req.Use)); err != nil {
		s.site.Error(w, r, permit.Errorf(permit.ECodeInvalid, "use must be flight, train or border"))
		return
	}
	if req.Use == verify.UseBorder && !s.a.Policy().AllowBorder {
		// Not while the policy keeps e-permits away from border control,
		// whatever a credential says.
		s.site.Error(w, r, permit.Errorf(permit.ECodeScopeNotAllowed, "e-permits are not valid at border control under the current policy"))
		return
	}
	res, err := s.a.VerifyPresentation(r.Context(), c, req.QR, req.Use)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	s.verifications.WithLabelValues(string(res.Decision), string(res.Code)).Inc()
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, res)
}

func (s *Handler) portrait(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clients.Client(w, r, permit.RoleVerifier)
	if !ok {
		return
	}
	cti, err := httpx.PathCTI(r)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	image, err := s.a.Portrait(r.Context(), c, cti)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	httpx.WriteImage(w, image)
}
