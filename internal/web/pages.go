package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// The pages: server-rendered HTML whose scripts call small JSON endpoints
// under /app/. Applicant secrets travel in HttpOnly cookies, never in URLs
// or script-visible storage; see docs/pages.md for the reasoning.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the pages, each a template under templates/ rendered inside
// layout.html.
var pageNames = []string{"home", "apply", "wallet", "gate"}

var pageTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// Cookie names. The proofing secret and the applicant session are bearer
// credentials: HttpOnly, SameSite=Strict, scoped to /app/.
const (
	proofCookie   = "ep_proof"
	sessionCookie = "ep_session"
	csrfCookie    = "ep_csrf"
	csrfHeader    = "X-CSRF-Token"
)

func (s *Server) pageRoutes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(filesOnly{static}))
	s.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Short caching: assets are not fingerprinted, and a fix must reach
		// phones the same day.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /{$}", s.page("home"))
	s.mux.HandleFunc("GET /apply", s.page("apply"))
	s.mux.HandleFunc("GET /wallet", s.page("wallet"))
	s.mux.HandleFunc("GET /gate", s.page("gate"))

	s.mux.HandleFunc("POST /app/proofing", s.csrf(s.pageStartProofing))
	s.mux.HandleFunc("GET /app/proofing", s.pageProofingStatus)
	s.mux.HandleFunc("POST /app/proofing/code", s.csrf(s.withSecret(proofCookie, s.pageSubmitCode)))
	s.mux.HandleFunc("POST /app/proofing/face", s.csrf(s.withSecret(proofCookie, s.pageSubmitFace)))
	s.mux.HandleFunc("GET /app/me", s.withSecret(sessionCookie, s.pageEligibility))
	s.mux.HandleFunc("POST /app/nonce", s.csrf(s.withSecret(sessionCookie, s.nonce)))
	s.mux.HandleFunc("POST /app/epermits", s.csrf(s.withSecret(sessionCookie, s.apply)))
	s.mux.HandleFunc("GET /app/epermits", s.withSecret(sessionCookie, s.pageEPermits))
	s.mux.HandleFunc("POST /app/epermits/{cti}/cancel", s.csrf(s.withSecret(sessionCookie, s.cancel)))
	s.mux.HandleFunc("POST /app/signout", s.csrf(s.signOut))
	s.holderRoutes()
}

// pageData is what every template gets.
type pageData struct {
	Lang     string
	Page     string
	CSRF     string
	Demo     bool
	Messages map[string]string // the language's catalogue, for the scripts
	Switch   []langLink
}

type langLink struct {
	Lang, Label, Href string
	Current           bool
}

// T returns the message for key in the page's language. A missing key shows
// as itself, so it is noticed rather than rendered blank.
func (p pageData) T(key string) string {
	if m, ok := catalogs[p.Lang][key]; ok {
		return m
	}
	return key
}

// page renders one page. ?lang= from the switch sets the language cookie
// and redirects to the bare path, so URLs stay free of state.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if l := r.URL.Query().Get("lang"); l != "" {
			if validLang(l) {
				http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
					HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
			}
			http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
			return
		}
		lang := pickLang(r)
		d := pageData{Lang: lang, Page: name, CSRF: s.csrfToken(w, r), Demo: s.outbox != nil, Messages: catalogs[lang],
			Switch: switchLinks(r, lang)}
		var buf bytes.Buffer
		if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", d); err != nil {
			s.error(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Language", lang)
		h.Add("Vary", "Accept-Language, Cookie")
		w.Write(buf.Bytes())
	}
}

// switchLinks are the language switch's links for this page.
func switchLinks(r *http.Request, lang string) []langLink {
	links := make([]langLink, 0, len(languages))
	for _, l := range languages {
		links = append(links, langLink{Lang: l, Label: catalogs[l]["lang.name"],
			Href: r.URL.Path + "?lang=" + url.QueryEscape(l), Current: l == lang})
	}
	return links
}

// secure says whether cookies get the Secure attribute: always, unless the
// server runs with InsecureCookies (tests and the local demo over plain
// http) and this request did not come over TLS.
func (s *Server) secure(r *http.Request) bool {
	if !s.insecureCookies {
		return true
	}
	return r.TLS != nil || (s.trust && r.Header.Get("X-Forwarded-Proto") == "https")
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/app/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// csrfToken returns the browser's double-submit token, setting the cookie
// on first visit. The page carries the same value in a meta element; the
// scripts send it back in X-CSRF-Token.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode})
	return v
}

// csrf guards a state-changing page endpoint: the Origin, when sent, must
// be this server, and the X-CSRF-Token header must equal the cookie. Either
// alone stops a cross-site form; both together also cover old browsers and
// same-site subdomains.
func (s *Server) csrf(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			if !s.sameOrigin(r, o) {
				s.problem(w, r, http.StatusForbidden, "csrf", "cross-origin request refused")
				return
			}
		}
		c, err := r.Cookie(csrfCookie)
		h := r.Header.Get(csrfHeader)
		if err != nil || h == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(h)) != 1 {
			s.problem(w, r, http.StatusForbidden, "csrf", "missing or wrong CSRF token; reload the page")
			return
		}
		next(w, r)
	}
}

// withSecret runs an API handler with the secret from cookie name as its
// bearer credential, so the pages reuse the API's handlers unchanged.
func (s *Server) withSecret(name string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" {
			s.error(w, r, permit.Errorf(authority.ECodeUnauthorized, "sign in again: no session"))
			return
		}
		r2 := r.Clone(r.Context())
		r2.Header.Set("Authorization", "Bearer "+c.Value)
		if cti := r.PathValue("cti"); cti != "" {
			r2.SetPathValue("cti", cti)
		}
		next(w, r2)
	}
}

func (s *Server) pageStartProofing(w http.ResponseWriter, r *http.Request) {
	started, ok := s.beginProofing(w, r)
	if !ok {
		return
	}
	s.setCookie(w, r, proofCookie, started.Secret, authority.ProofingTTL)
	writeJSON(w, http.StatusCreated, map[string]any{"phone_hint": started.PhoneHint,
		"code_expires_at": started.CodeExpiresAt, "next": "code"})
}

// writePageState answers a proofing step. A verified session's token goes
// into the session cookie and never into the body.
func (s *Server) writePageState(w http.ResponseWriter, r *http.Request, st *authority.ProofingState) {
	if st.Token != "" {
		s.setCookie(w, r, sessionCookie, st.Token, time.Until(st.ExpiresAt))
		s.setCookie(w, r, proofCookie, "", 0)
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": st.State, "session_expires_at": st.ExpiresAt})
}

func (s *Server) pageSubmitCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	secret, _ := bearer(r)
	err := decode(w, r, maxJSONBody, &req)
	var st *authority.ProofingState
	if err == nil {
		st, err = s.a.SubmitCode(r.Context(), secret, req.Code)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writePageState(w, r, st)
}

func (s *Server) pageSubmitFace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Selfie []byte `json:"selfie"`
	}
	secret, _ := bearer(r)
	err := decode(w, r, maxSelfieBody, &req)
	var st *authority.ProofingState
	if err == nil {
		st, err = s.a.SubmitFace(r.Context(), secret, req.Selfie)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writePageState(w, r, st)
}

// pageProofingStatus is polled while an officer reviews the face.
func (s *Server) pageProofingStatus(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(proofCookie)
	if err != nil {
		s.error(w, r, permit.Errorf(authority.ECodeUnauthorized, "no proofing session"))
		return
	}
	st, err := s.a.ProofingStatus(r.Context(), c.Value)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writePageState(w, r, st)
}

func (s *Server) pageEligibility(w http.ResponseWriter, r *http.Request) {
	token, _ := bearer(r)
	e, err := s.a.Eligibility(r.Context(), token)
	if err != nil {
		s.error(w, r, err)
		return
	}
	scopes := make([]string, len(e.Scopes))
	for i, sc := range e.Scopes {
		scopes[i] = scopeName(int(sc))
	}
	left := -1 // no limit
	if e.MonthlyQuota > 0 {
		left = max(0, e.MonthlyQuota-e.UsedThisMonth)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"name": e.Name, "latin_name": e.LatinName,
		"document_type": e.DocumentType.String(), "document_number": e.DocumentNumber,
		"permit_expires_on": e.PermitExpiresOn.String(), "validity_days": e.ValidityDays,
		"monthly_quota": e.MonthlyQuota, "left_this_month": left, "scopes": scopes})
}

// walletEntry is an e-permit as the wallet page keeps it: the credential
// bytes it presents, plus the holder data for the card, read here from the
// signed credential so the page needs no CBOR decoder.
type walletEntry struct {
	credentialJSON
	Holder walletHolder `json:"holder"`
}

type walletHolder struct {
	DocumentType   string   `json:"document_type"`
	DocumentNumber string   `json:"document_number"`
	Name           string   `json:"name"`
	LatinName      string   `json:"latin_name"`
	BirthDate      string   `json:"birth_date"`
	Sex            string   `json:"sex"`
	Scopes         []string `json:"scopes"`
}

func (s *Server) pageEPermits(w http.ResponseWriter, r *http.Request) {
	token, _ := bearer(r)
	cs, err := s.a.MyCredentials(r.Context(), token)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]walletEntry, 0, len(cs))
	for i := range cs {
		e, err := credential.ParseEPermit(cs[i].Token)
		if err != nil {
			s.error(w, r, err)
			return
		}
		p := e.Claims.Permit
		h := walletHolder{DocumentType: permit.DocumentType(p.DocumentType).String(), DocumentNumber: p.DocumentNumber,
			Name: p.Name, LatinName: p.LatinName, BirthDate: p.BirthDate, Sex: sexName(int(p.Sex))}
		for _, sc := range p.Scopes {
			h.Scopes = append(h.Scopes, scopeName(int(sc)))
		}
		out = append(out, walletEntry{credentialJSON: toJSON(&cs[i]), Holder: h})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"epermits": out})
}

// scopeName is a scope as the verify package names it (spec §2 values).
func scopeName(v int) string {
	switch v {
	case 1:
		return "flight"
	case 2:
		return "train"
	case 3:
		return "border"
	}
	return "unknown"
}

func sexName(v int) string {
	switch v {
	case 1:
		return "male"
	case 2:
		return "female"
	}
	return "unknown"
}

// signOut ends the applicant's session and forgets the cookies. The
// wallet's stored e-permit stays on the device: showing it needs no session.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.a.SignOut(r.Context(), c.Value); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.setCookie(w, r, sessionCookie, "", 0)
	s.setCookie(w, r, proofCookie, "", 0)
	w.WriteHeader(http.StatusNoContent)
}
