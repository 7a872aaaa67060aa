package officer

import (
	"net/http"

	"github.com/epermit/epermit/internal/authority"
)

func (s *Handler) consoleSignInPage(w http.ResponseWriter, r *http.Request) {
	if s.site.LangSwitch(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "signin", nil, consoleData{})
}

func (s *Handler) consoleSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := authority.WithActor(r.Context(), "web")
	token, _, err := s.a.OfficerSignIn(ctx, r.PostFormValue("name"), r.PostFormValue("key"), s.site.ClientAddr(r))
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.render(w, r, status, "signin", nil, consoleData{Error: msg, Data: map[string]string{"Name": r.PostFormValue("name")}})
		return
	}
	s.setOfficerCookie(w, r, token)
	http.Redirect(w, r, "/officer/", http.StatusSeeOther)
}

func (s *Handler) consoleSignOut(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		if err := s.a.OfficerSignOut(r.Context(), ck.Value); err != nil {
			s.site.Error(w, r, err)
			return
		}
	}
	s.setOfficerCookie(w, r, "")
	s.render(w, r, http.StatusOK, "signin", nil, consoleData{Notice: "officer.signedout"})
}

func (s *Handler) consoleHome(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "home", c, consoleData{})
}
