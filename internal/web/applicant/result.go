package applicant

import (
	"encoding/hex"
	"html/template"
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// The printable linkage result (关联查询结果): a page a holder prints or shows
// and an institution checks online by scanning its QR code.
//
// Design: the page's address is {public-url}/linkage/{id}, where id is the
// linkage proof's 128-bit random credential id. The id is a capability, as
// the check code of a paper certificate is: whoever holds the paper may see
// the result, and nobody can guess one. No personal data is in the URL; the
// server logs route patterns, not paths; pages are no-store and sent with
// Referrer-Policy no-referrer. Personal data is shown only while the proof
// is valid, so revoking the proof (or its expiry) ends the paper's
// validity too. The QR code is a separate image, since the server's CSP
// allows no data: URIs and no inline styles or scripts.

var linkageTemplate = template.Must(template.ParseFS(templates, "templates/linkage/result.html"))

// linkageResult looks up the result named by the request's {id}.
func (s *Handler) linkageResult(w http.ResponseWriter, r *http.Request) (*authority.LinkageResult, bool) {
	id, err := hex.DecodeString(r.PathValue("id"))
	var res *authority.LinkageResult
	if err != nil || len(id) != 16 {
		err = permit.Errorf(permit.ECodeNotFound, "no such linkage result")
	} else {
		res, err = s.a.LinkageResultByID(r.Context(), id)
	}
	if err != nil {
		s.site.Error(w, r, err)
		return nil, false
	}
	return res, true
}

type linkagePageData struct {
	*authority.LinkageResult
	URL string
	// Main is the page in the visitor's language; Also is the second
	// language of the paper: English, or Simplified Chinese when the
	// visitor reads English, since the paper goes to mainland institutions.
	Main, Also httpx.PageData
}

// DocType is the catalogue key of the travel permit's name.
func (d linkagePageData) DocType() string { return "doctype." + d.TravelPermitType }

// InvalidKey is the catalogue key saying why the result is not valid.
func (d linkagePageData) InvalidKey() string {
	switch d.State {
	case permit.CredentialActive:
		return "print.invalid.expired"
	case permit.CredentialSuspended:
		return "print.invalid.suspended"
	}
	return "print.invalid.revoked"
}

func (s *Handler) linkagePage(w http.ResponseWriter, r *http.Request) {
	if s.site.LangSwitch(w, r) {
		return
	}
	res, ok := s.linkageResult(w, r)
	if !ok {
		return
	}
	main := s.site.Page(w, r, "linkage")
	also := httpx.PageData{Lang: "en"}
	if main.Lang == "en" {
		also.Lang = "zh-Hans"
	}
	d := linkagePageData{LinkageResult: res, URL: s.publicURL + "/linkage/" + res.ID, Main: main, Also: also}
	w.Header().Set("X-Robots-Tag", "noindex")
	s.site.Render(w, r, http.StatusOK, linkageTemplate, "result.html", main.Lang, d)
}

func (s *Handler) linkageQR(w http.ResponseWriter, r *http.Request) {
	res, ok := s.linkageResult(w, r)
	if !ok {
		return
	}
	png, err := qrcode.RenderText(s.publicURL + "/linkage/" + res.ID)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}

func (s *Handler) linkageCSS(w http.ResponseWriter, r *http.Request) {
	b, _ := templates.ReadFile("templates/linkage/print.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}
