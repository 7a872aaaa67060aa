package officer

import (
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// consoleCredential revokes, suspends or reinstates a credential.
func (s *Handler) consoleCredential(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	action := r.PostFormValue("action")
	do := s.stateChange(action)
	cti, err := httpx.PathCTI(r)
	var cred *permit.Credential
	switch {
	case err != nil:
	case do == nil:
		err = permit.Errorf(permit.ECodeInvalid, "action must be revoke, suspend or reinstate")
	case (action == "revoke" || action == "suspend") && r.PostFormValue("confirm") != "yes":
		// A revocation is for good and a suspension stops the holder at
		// the gate: the officer confirms on a page of its own first.
		s.render(w, r, http.StatusOK, "credential", c, consoleData{Data: credentialView{CTI: hex.EncodeToString(cti),
			Reason: strings.TrimSpace(r.PostFormValue("reason")), Confirm: action}})
		return
	default:
		cred, err = do(r.Context(), cti, strings.TrimSpace(r.PostFormValue("reason")))
	}
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.render(w, r, status, "credential", c, consoleData{Error: msg})
		return
	}
	v := s.viewCredential(cred, time.Now())
	s.render(w, r, http.StatusOK, "credential", c, consoleData{Notice: "officer.credential.done." + r.PostFormValue("action"), Data: v})
}
