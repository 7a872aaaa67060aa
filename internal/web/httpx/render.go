package httpx

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed templates/layout.html templates/error.html
var layoutFS embed.FS

// layout is the frame of the public pages (home, apply, wallet, gate).
var layout = template.Must(template.ParseFS(layoutFS, "templates/layout.html"))

// errorPage is the page browsers get instead of a problem document.
var errorPage = PageTemplate(layoutFS, "templates/error.html")

// errorData is the error page's data: catalogue keys of its title and text.
type errorData struct {
	PageData
	Title, Text string
}

// WantsPage reports whether r is a browser navigating to a page, which
// gets an HTML error page in its language instead of problem+json: a GET
// or HEAD that accepts text/html, outside the API.
func WantsPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") &&
		!strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/app/")
}

// ErrorPage answers a browser with the HTML page for status (404, or any
// other as "something went wrong") in its language.
func (s *Site) ErrorPage(w http.ResponseWriter, r *http.Request, status int) {
	d := errorData{PageData: s.Page(w, r, "error"), Title: "err.page.notfound.title", Text: "err.page.notfound"}
	if status != http.StatusNotFound {
		d.Title, d.Text = "err.page.internal.title", "err.internal"
	}
	s.Render(w, r, status, errorPage, "layout", d.Lang, d)
}

// PageTemplate parses the page file from fsys inside the public pages'
// layout, whose "layout" template renders it.
func PageTemplate(fsys fs.FS, file string) *template.Template {
	return template.Must(template.Must(layout.Clone()).ParseFS(fsys, file))
}

// PageData is what every page template gets.
type PageData struct {
	Lang     string
	Page     string
	CSRF     string
	Demo     bool
	Messages map[string]string // the words the page's scripts use, in its language
	Switch   []LangLink
}

// LangLink is one link of the language switch.
type LangLink struct {
	Lang, Label, Href string
	Current           bool
}

// T returns the message for key in the page's language. A missing key shows
// as itself, so it is noticed rather than rendered blank.
func (p PageData) T(key string) string {
	if m, ok := catalogs[p.Lang][key]; ok {
		return m
	}
	return key
}

// Page returns the common data of page name for this request: its
// language, CSRF token (set as a cookie on first visit) and switch links;
// no Messages, which PageHandler adds for its page's scripts.
func (s *Site) Page(w http.ResponseWriter, r *http.Request, name string) PageData {
	lang := PickLang(r)
	return PageData{Lang: lang, Page: name, CSRF: s.CSRFToken(w, r), Demo: s.Demo, Switch: switchLinks(r, lang)}
}

// switchLinks are the language switch's links for this page.
func switchLinks(r *http.Request, lang string) []LangLink {
	links := make([]LangLink, 0, len(languages))
	for _, l := range languages {
		links = append(links, LangLink{Lang: l, Label: catalogs[l]["lang.name"],
			Href: r.URL.Path + "?lang=" + url.QueryEscape(l), Current: l == lang})
	}
	return links
}

// LangSwitch handles ?lang= from the language switch on a GET: it sets the
// language cookie and redirects to the bare path, so URLs stay free of
// state. It reports whether it answered.
func (s *Site) LangSwitch(w http.ResponseWriter, r *http.Request) bool {
	l := r.URL.Query().Get("lang")
	if r.Method != http.MethodGet || l == "" {
		return false
	}
	if validLang(l) {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.Secure(r), SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// Render executes template name of t with data and answers with it in
// lang: never cached, since pages may hold personal data and CSRF tokens.
// status lets a refusal keep its HTTP status while showing a page.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name, lang string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		s.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", lang)
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// PageHandler serves template t (made by PageTemplate) as page name: the
// language switch, then the page with no data beyond Page's and the words
// its scripts use.
func (s *Site) PageHandler(t *template.Template, name string) http.HandlerFunc {
	msgs := s.PageMessages(t, nil)
	return func(w http.ResponseWriter, r *http.Request) {
		if s.LangSwitch(w, r) {
			return
		}
		p := s.Page(w, r, name)
		p.Messages = msgs[p.Lang]
		s.Render(w, r, http.StatusOK, t, "layout", p.Lang, p)
	}
}
