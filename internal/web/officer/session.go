package officer

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// The console's frame: its templates, the officer's session and its CSRF
// check, and rendering.

const (
	// SessionCookie holds the officer's console session token: HttpOnly,
	// SameSite=Strict, Secure, Path=/officer/. The store keeps its SHA-256.
	SessionCookie = "ep_officer"
	csrfField     = "csrf"
	// maxConsoleForm bounds a console form; the largest is a pasted or
	// uploaded PEM public key.
	maxConsoleForm = 64 << 10
)

//go:embed templates/*.html
var templateFS embed.FS

var consoleTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "home", "lookup", "issue", "faces", "credential", "audit", "admin", "denied"} {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// consoleData is what every console template gets.
type consoleData struct {
	httpx.PageData
	Officer *permit.Client
	Admin   bool
	Error   string
	Notice  string
	Data    any // the page's own
}

// consoleCtx is a signed-in request: the officer and their audit context.
type consoleCtx struct {
	officer *permit.Client
	admin   bool
	session string // the session token from the officer's cookie
}

// render writes a console page. status lets a refusal keep its HTTP
// status while still showing the page in the officer's language.
func (s *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, c *consoleCtx, d consoleData) {
	d.PageData = s.site.Page(w, r, "officer-"+name)
	if c != nil {
		d.Officer, d.Admin = c.officer, c.admin
	}
	// same-origin rather than the site's no-referrer: with no-referrer,
	// browsers send "Origin: null" on form POSTs, and the console's CSRF
	// check needs the real origin. Nothing leaves the site either way.
	w.Header().Set("Referrer-Policy", "same-origin")
	s.site.Render(w, r, status, consoleTemplates[name], "console", d.Lang, d)
}

// csrf guards a console form POST: the body is bounded and parsed,
// the Origin (when sent) must be this server, and the form's csrf field
// must equal the ep_csrf cookie: the pages' double-submit check, with the
// token in the form because these are plain forms, not script calls.
func (s *Handler) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxConsoleForm)
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(maxConsoleForm)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			s.render(w, r, http.StatusBadRequest, "denied", nil, consoleData{Error: "officer.err.form"})
			return
		}
		if !s.site.SameOrigin(r) || !httpx.CSRFMatches(r, r.PostFormValue(csrfField)) {
			s.render(w, r, http.StatusForbidden, "denied", nil, consoleData{Error: "officer.err.csrf"})
			return
		}
		next(w, r)
	}
}

// signedIn serves a console page to a signed-in officer (admins only when
// admin is set). Without a live session, GETs go to the sign-in page and
// other requests are refused; POSTs also pass the CSRF check.
func (s *Handler) signedIn(admin bool, next func(http.ResponseWriter, *http.Request, *consoleCtx)) http.HandlerFunc {
	h := func(w http.ResponseWriter, r *http.Request) {
		if s.site.LangSwitch(w, r) {
			return
		}
		var o *permit.Client
		ck, err := r.Cookie(SessionCookie)
		if err == nil {
			o, err = s.a.OfficerSession(r.Context(), ck.Value)
		}
		if err != nil {
			if permit.ErrorCode(err) != permit.ECodeUnauthorized && !errors.Is(err, http.ErrNoCookie) {
				s.site.Error(w, r, err)
				return
			}
			s.setOfficerCookie(w, r, "")
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/officer/signin", http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusUnauthorized, "signin", nil, consoleData{Error: "officer.err.unauthorized"})
			return
		}
		c := &consoleCtx{officer: o, admin: o.Category == "admin", session: ck.Value}
		if admin && !c.admin {
			s.render(w, r, http.StatusForbidden, "denied", c, consoleData{Error: "officer.err.forbidden"})
			return
		}
		r = r.WithContext(authority.WithActor(r.Context(), "officer:"+o.Name))
		next(w, r, c)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			s.csrf(h)(w, r)
			return
		}
		h(w, r)
	}
}

func (s *Handler) setOfficerCookie(w http.ResponseWriter, r *http.Request, token string) {
	maxAge := authority.OfficerSessionLifetime
	if token == "" {
		maxAge = 0
	}
	s.site.SetCookie(w, r, SessionCookie, token, "/officer/", maxAge)
}

// pageErr turns an authority error into a catalogue key for the page,
// logging what is not the officer's to know.
func (s *Handler) pageErr(r *http.Request, err error) (int, string) {
	pe, ok := s.site.Known(r, err)
	if !ok {
		return http.StatusInternalServerError, "officer.err.internal"
	}
	status := httpx.StatusOf(pe.Code)
	if _, ok := httpx.Messages("en")["officer.err."+string(pe.Code)]; ok {
		return status, "officer.err." + string(pe.Code)
	}
	return status, pe.Message
}

// ErrorText is the message for an Error field: a catalogue key, or text
// from the authority shown as it is.
func (d consoleData) ErrorText() string { return d.T(d.Error) }
