package web

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// The officer console: server-rendered pages under /officer/ for
// exit-entry officers (look up, issue at the counter, review face checks,
// revoke, read the audit trail) and admins (manage verifiers, institutions
// and officers). It needs no script: every action is a plain POST form.
//
// Officers sign in with their name and personal officer key; the browser
// then holds only a session token in ep_officer (HttpOnly, SameSite=Strict,
// Secure, Path=/officer/), whose SHA-256 the store keeps. Every POST must
// carry the ep_csrf double-submit token as the form field "csrf" and, when
// the browser sends Origin, come from this server. Personal data never goes
// into a URL: lookups are POSTed, portraits are named by sealed handles.

const (
	officerCookie = "ep_officer"
	csrfField     = "csrf"
	// maxConsoleForm bounds a console form; the largest is a pasted or
	// uploaded PEM public key.
	maxConsoleForm = 64 << 10
)

var consoleTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"signin", "home", "lookup", "issue", "faces", "credential", "audit", "admin", "denied"} {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/officer_layout.html", "templates/officer_"+name+".html"))
	}
	return out
}()

// consoleData is what every console template gets.
type consoleData struct {
	pageData
	Officer *store.Client
	Admin   bool
	Error   string
	Notice  string
	Data    any // the page's own
}

// consoleCtx is a signed-in request: the officer and their audit context.
type consoleCtx struct {
	officer *store.Client
	admin   bool
	session string // the session token from the officer's cookie
}

func (s *Server) consoleRoutes() {
	s.mux.HandleFunc("GET /officer/signin", s.consoleSignInPage)
	s.mux.HandleFunc("POST /officer/signin", s.consoleCSRF(s.consoleSignIn))
	s.mux.HandleFunc("POST /officer/signout", s.consoleCSRF(s.consoleSignOut))
	s.mux.HandleFunc("GET /officer/{$}", s.officer(false, s.consoleHome))
	s.mux.HandleFunc("GET /officer/lookup", s.officer(false, s.consoleLookupPage))
	s.mux.HandleFunc("POST /officer/lookup", s.officer(false, s.consoleLookup))
	s.mux.HandleFunc("GET /officer/portrait/{handle}", s.officer(false, s.consolePortrait))
	s.mux.HandleFunc("GET /officer/issue", s.officer(false, s.consoleIssuePage))
	s.mux.HandleFunc("POST /officer/issue", s.officer(false, s.consoleIssue))
	s.mux.HandleFunc("GET /officer/faces", s.officer(false, s.consoleFaces))
	s.mux.HandleFunc("GET /officer/faces/{id}/{which}", s.officer(false, s.consoleFaceImage))
	s.mux.HandleFunc("POST /officer/faces/{id}", s.officer(false, s.consoleReviewFace))
	s.mux.HandleFunc("POST /officer/credentials/{cti}", s.officer(false, s.consoleCredential))
	s.mux.HandleFunc("GET /officer/audit", s.officer(false, s.consoleAudit))
	s.mux.HandleFunc("POST /officer/audit", s.officer(false, s.consoleAudit))
	s.mux.HandleFunc("POST /officer/audit/verify", s.officer(false, s.consoleVerifyAudit))
	s.mux.HandleFunc("GET /officer/admin/{role}", s.officer(true, s.consoleAdmin))
	s.mux.HandleFunc("POST /officer/admin/{role}", s.officer(true, s.consoleAdmin))
}

// render writes a console page. status lets a refusal keep its HTTP
// status while still showing the page in the officer's language.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, c *consoleCtx, d consoleData) {
	lang := pickLang(r)
	d.pageData = pageData{Lang: lang, Page: "officer-" + name, CSRF: s.csrfToken(w, r), Demo: s.outbox != nil,
		Switch: switchLinks(r, lang)}
	if c != nil {
		d.Officer, d.Admin = c.officer, c.admin
	}
	var buf bytes.Buffer
	if err := consoleTemplates[name].ExecuteTemplate(&buf, "console", d); err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", lang)
	// same-origin rather than the site's no-referrer: with no-referrer,
	// browsers send "Origin: null" on form POSTs, and the console's CSRF
	// check needs the real origin. Nothing leaves the site either way.
	h.Set("Referrer-Policy", "same-origin")
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// langSwitch handles ?lang= from the language switch as the other pages
// do: set the cookie, redirect to the bare path.
func (s *Server) langSwitch(w http.ResponseWriter, r *http.Request) bool {
	l := r.URL.Query().Get("lang")
	if r.Method != http.MethodGet || l == "" {
		return false
	}
	if validLang(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// consoleCSRF guards a console form POST: the body is bounded and parsed,
// the Origin (when sent) must be this server, and the form's csrf field
// must equal the ep_csrf cookie: the pages' double-submit check, with the
// token in the form because these are plain forms, not script calls.
func (s *Server) consoleCSRF(next http.HandlerFunc) http.HandlerFunc {
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
		if o := r.Header.Get("Origin"); o != "" {
			if !s.sameOrigin(r, o) {
				s.render(w, r, http.StatusForbidden, "denied", nil, consoleData{Error: "officer.err.csrf"})
				return
			}
		}
		c, err := r.Cookie(csrfCookie)
		f := r.PostFormValue(csrfField)
		if err != nil || f == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(f)) != 1 {
			s.render(w, r, http.StatusForbidden, "denied", nil, consoleData{Error: "officer.err.csrf"})
			return
		}
		next(w, r)
	}
}

// officer serves a console page to a signed-in officer (admins only when
// admin is set). Without a live session, GETs go to the sign-in page and
// other requests are refused; POSTs also pass the CSRF check.
func (s *Server) officer(admin bool, next func(http.ResponseWriter, *http.Request, *consoleCtx)) http.HandlerFunc {
	h := func(w http.ResponseWriter, r *http.Request) {
		if s.langSwitch(w, r) {
			return
		}
		var o *store.Client
		ck, err := r.Cookie(officerCookie)
		if err == nil {
			o, err = s.a.OfficerSession(r.Context(), ck.Value)
		}
		if err != nil {
			if permit.ErrorCode(err) != authority.ECodeUnauthorized && !errors.Is(err, http.ErrNoCookie) {
				s.error(w, r, err)
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
			s.consoleCSRF(h)(w, r)
			return
		}
		h(w, r)
	}
}

func (s *Server) setOfficerCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := &http.Cookie{Name: officerCookie, Value: token, Path: "/officer/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(authority.OfficerSessionLifetime.Seconds())}
	if token == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// consoleErr turns an authority error into a catalogue key for the page,
// logging what is not the officer's to know.
func (s *Server) consoleErr(r *http.Request, err error) (int, string) {
	var pe *permit.Error
	if !errors.As(err, &pe) {
		s.log.Error("internal error", "method", r.Method, "route", r.Pattern, "err", err)
		return http.StatusInternalServerError, "officer.err.internal"
	}
	status, ok := statusOf[pe.Code]
	if !ok {
		status = http.StatusUnprocessableEntity
	}
	if _, ok := catalogs["en"]["officer.err."+pe.Code]; ok {
		return status, "officer.err." + pe.Code
	}
	return status, pe.Message
}

// ErrorText is the message for an Error field: a catalogue key, or text
// from the authority shown as it is.
func (d consoleData) ErrorText() string { return d.T(d.Error) }

func (s *Server) consoleSignInPage(w http.ResponseWriter, r *http.Request) {
	if s.langSwitch(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "signin", nil, consoleData{})
}

func (s *Server) consoleSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := authority.WithActor(r.Context(), "web")
	token, _, err := s.a.OfficerSignIn(ctx, r.PostFormValue("name"), r.PostFormValue("key"), clientAddr(r, s.trust))
	if err != nil {
		status, msg := s.consoleErr(r, err)
		s.render(w, r, status, "signin", nil, consoleData{Error: msg, Data: map[string]string{"Name": r.PostFormValue("name")}})
		return
	}
	s.setOfficerCookie(w, r, token)
	http.Redirect(w, r, "/officer/", http.StatusSeeOther)
}

func (s *Server) consoleSignOut(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(officerCookie); err == nil {
		if err := s.a.OfficerSignOut(r.Context(), ck.Value); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.setOfficerCookie(w, r, "")
	s.render(w, r, http.StatusOK, "signin", nil, consoleData{Notice: "officer.signedout"})
}

func (s *Server) consoleHome(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "home", c, consoleData{})
}

// lookupView is the lookup page's data.
type lookupView struct {
	DocType, Number string
	File            *authority.PersonFile
	Portrait        string // sealed handle, "" without a portrait
	Credentials     []credentialView
}

// credentialView is one credential as the console lists it.
type credentialView struct {
	CTI, Kind, State, Reason string
	IssuedAt, ExpiresAt      string
	Expired                  bool
}

func viewCredential(c *permit.Credential, now time.Time) credentialView {
	kind := "epermit"
	if c.Kind == permit.LinkageProofKind {
		kind = "linkage"
	}
	return credentialView{CTI: hex.EncodeToString(c.ID), Kind: kind, State: string(c.State), Reason: c.StateReason,
		IssuedAt: c.IssuedAt.Format(time.DateTime), ExpiresAt: c.ExpiresAt.Format(time.DateTime),
		Expired: !now.Before(c.ExpiresAt)}
}

func (s *Server) consoleLookupPage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "lookup", c, consoleData{Data: lookupView{DocType: "hk"}})
}

func (s *Server) consoleLookup(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := lookupView{DocType: r.PostFormValue("doc_type"), Number: strings.TrimSpace(r.PostFormValue("doc_number"))}
	t, err := permit.ParseDocumentType(v.DocType)
	var f *authority.PersonFile
	if err == nil {
		f, err = s.a.LookUpPerson(r.Context(), t, v.Number)
	}
	if err != nil {
		status, msg := s.consoleErr(r, err)
		s.render(w, r, status, "lookup", c, consoleData{Error: msg, Data: v})
		return
	}
	v.File = f
	if len(f.Record.Person.Portrait) > 0 {
		v.Portrait = sealHandle(f.Record.Person.ID, c.session)
	}
	now := time.Now()
	for _, list := range [][]permit.Credential{f.EPermits, f.LinkageProof} {
		for i := range list {
			v.Credentials = append(v.Credentials, viewCredential(&list[i], now))
		}
	}
	s.render(w, r, http.StatusOK, "lookup", c, consoleData{Data: v})
}

// Portrait handles: the lookup page names a portrait by the person's store
// id sealed with a key derived from the officer's session token, valid for
// handleTTL. The URL is opaque, cannot be guessed or used outside that
// session, and tells nothing even if logged; and since every replica sees
// the token in the cookie, any of them opens it.
const handleTTL = 15 * time.Minute

func handleAEAD(session string) cipher.AEAD {
	k := sha256.Sum256([]byte("epermit portrait handle\x00" + session))
	b, _ := aes.NewCipher(k[:])
	g, _ := cipher.NewGCM(b)
	return g
}

func sealHandle(personID int64, session string) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(personID))
	plain = binary.BigEndian.AppendUint64(plain, uint64(time.Now().Add(handleTTL).Unix()))
	g := handleAEAD(session)
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, nil))
}

func openHandle(h, session string) (int64, bool) {
	g := handleAEAD(session)
	b, err := base64.RawURLEncoding.DecodeString(h)
	n := g.NonceSize()
	if err != nil || len(b) < n {
		return 0, false
	}
	plain, err := g.Open(nil, b[:n], b[n:], nil)
	if err != nil || len(plain) != 16 || time.Now().Unix() > int64(binary.BigEndian.Uint64(plain[8:])) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(plain[:8])), true
}

func (s *Server) consolePortrait(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, ok := openHandle(r.PathValue("handle"), c.session)
	if !ok {
		s.problem(w, r, http.StatusNotFound, permit.ECodeNotFound, "no such portrait")
		return
	}
	img, err := s.a.PersonPortrait(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeImage(w, img)
}

func writeImage(w http.ResponseWriter, img []byte) {
	w.Header().Set("Content-Type", http.DetectContentType(img))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(img)
}

// issueView is the counter issuance page's data.
type issueView struct {
	Kind, DocType, Number, Reason, HolderKey string
	Issued                                   *issuedView
}

type issuedView struct {
	CTI, Kind, ExpiresAt, Credential string
}

func (s *Server) consoleIssuePage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "issue", c, consoleData{Data: issueView{Kind: "epermit", DocType: "hk", Reason: "lost"}})
}

// parseHolderKey reads a P-256 public key in PEM (SubjectPublicKeyInfo),
// pasted into the form or uploaded as a file.
func parseHolderKey(r *http.Request) (*ecdsa.PublicKey, string, error) {
	text := r.PostFormValue("holder_key")
	if f, _, err := r.FormFile("holder_key_file"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxConsoleForm))
		f.Close()
		if len(bytes.TrimSpace(b)) > 0 {
			text = string(b)
		}
	}
	bad := permit.Errorf(permit.ECodeInvalid, "the holder key must be a P-256 public key in PEM")
	blk, _ := pem.Decode([]byte(text))
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, text, bad
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	ek, ok := k.(*ecdsa.PublicKey)
	if err != nil || !ok {
		return nil, text, bad
	}
	return ek, text, nil
}

func (s *Server) consoleIssue(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := issueView{Kind: r.PostFormValue("kind"), DocType: r.PostFormValue("doc_type"),
		Number: strings.ToUpper(strings.TrimSpace(r.PostFormValue("doc_number"))), Reason: r.PostFormValue("reason")}
	key, text, err := parseHolderKey(r)
	v.HolderKey = text
	var t permit.DocumentType
	if err == nil {
		t, err = permit.ParseDocumentType(v.DocType)
	}
	var cred *permit.Credential
	if err == nil {
		switch v.Kind {
		case "linkage":
			cred, err = s.a.IssueLinkageAtCounter(r.Context(), t, v.Number, key)
		default:
			var reason permit.Reason
			if reason, err = permit.ParseReason(v.Reason); err == nil {
				cred, err = s.a.IssueAtCounter(r.Context(), t, v.Number, reason, key)
			}
		}
	}
	if err != nil {
		status, msg := s.consoleErr(r, err)
		s.render(w, r, status, "issue", c, consoleData{Error: msg, Data: v})
		return
	}
	iv := &issuedView{CTI: hex.EncodeToString(cred.ID), Kind: "epermit", ExpiresAt: cred.ExpiresAt.Format(time.DateTime),
		Credential: base64.RawURLEncoding.EncodeToString(cred.Token)}
	if cred.Kind == permit.LinkageProofKind {
		iv.Kind, iv.Credential = "linkage", string(cred.Token) // an SD-JWT is already text
	}
	v.Issued, v.HolderKey = iv, ""
	s.render(w, r, http.StatusOK, "issue", c, consoleData{Notice: "officer.issue.done", Data: v})
}

// faceView is one pending face review as the queue lists it.
type faceView struct {
	ID       int64
	Document string
	Waiting  string
}

func (s *Server) consoleFaces(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.renderFaces(w, r, c, http.StatusOK, consoleData{})
}

func (s *Server) renderFaces(w http.ResponseWriter, r *http.Request, c *consoleCtx, status int, d consoleData) {
	fs, err := s.a.PendingFaceReviews(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	var vs []faceView
	for _, f := range fs {
		vs = append(vs, faceView{ID: f.ID, Document: f.Document, Waiting: f.CreatedAt.Format(time.DateTime)})
	}
	d.Data = vs
	s.render(w, r, status, "faces", c, d)
}

func (s *Server) consoleFaceImage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	which := r.PathValue("which")
	if err != nil || (which != "selfie" && which != "portrait") {
		s.problem(w, r, http.StatusNotFound, permit.ECodeNotFound, "no such image")
		return
	}
	fs, err := s.a.PendingFaceReviews(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, f := range fs {
		if f.ID == id {
			img := f.Selfie
			if which == "portrait" {
				img = f.Portrait
			}
			writeImage(w, img)
			return
		}
	}
	s.problem(w, r, http.StatusNotFound, permit.ECodeNotFound, "no such pending review")
}

func (s *Server) consoleReviewFace(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		err = permit.Errorf(permit.ECodeNotFound, "no such review")
	} else {
		err = s.a.ReviewFace(r.Context(), id, r.PostFormValue("decision") == "approve", strings.TrimSpace(r.PostFormValue("note")))
	}
	if err != nil {
		status, msg := s.consoleErr(r, err)
		s.renderFaces(w, r, c, status, consoleData{Error: msg})
		return
	}
	notice := "officer.faces.rejected"
	if r.PostFormValue("decision") == "approve" {
		notice = "officer.faces.approved"
	}
	s.renderFaces(w, r, c, http.StatusOK, consoleData{Notice: notice})
}

// consoleCredential revokes, suspends or reinstates a credential.
func (s *Server) consoleCredential(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	do := map[string]func(*authority.Authority, context.Context, []byte, string) (*permit.Credential, error){
		"revoke": (*authority.Authority).Revoke, "suspend": (*authority.Authority).Suspend,
		"reinstate": (*authority.Authority).Reinstate,
	}[r.PostFormValue("action")]
	cti, err := pathCTI(r)
	var cred *permit.Credential
	switch {
	case err != nil:
	case do == nil:
		err = permit.Errorf(permit.ECodeInvalid, "action must be revoke, suspend or reinstate")
	default:
		cred, err = do(s.a, r.Context(), cti, strings.TrimSpace(r.PostFormValue("reason")))
	}
	if err != nil {
		status, msg := s.consoleErr(r, err)
		s.render(w, r, status, "credential", c, consoleData{Error: msg})
		return
	}
	v := viewCredential(cred, time.Now())
	s.render(w, r, http.StatusOK, "credential", c, consoleData{Notice: "officer.credential.done." + r.PostFormValue("action"), Data: v})
}

// auditView is the audit page's data.
type auditView struct {
	Subject  string
	Before   int64 // the page holds the events before this one; 0 for the newest
	Events   []auditRow
	Older    int64  // where the next page starts, when there may be one
	Verified string // the verify result, when asked
	Broken   bool
}

type auditRow struct {
	Seq                                 int64
	At, Actor, Action, Subject, Details string
}

func (s *Server) consoleAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := auditView{Subject: strings.TrimSpace(r.PostFormValue("subject"))}
	if b := r.PostFormValue("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			s.error(w, r, permit.Errorf(permit.ECodeInvalid, "before must be an event number"))
			return
		}
		v.Before = n
	}
	s.renderAudit(w, r, c, v)
}

func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx, v auditView) {
	es, err := s.a.AuditEventsBefore(r.Context(), v.Subject, v.Before)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Events = make([]auditRow, len(es))
	for i, e := range es {
		v.Events[i] = auditRow{Seq: e.Seq, At: e.At.UTC().Format(time.DateTime), Actor: e.Actor, Action: e.Action,
			Subject: e.Subject, Details: string(e.Details)}
	}
	if len(es) == authority.AuditPageSize && es[len(es)-1].Seq > 1 {
		v.Older = es[len(es)-1].Seq
	}
	s.render(w, r, http.StatusOK, "audit", c, consoleData{Data: v})
}

func (s *Server) consoleVerifyAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	n, err := s.a.VerifyAudit(r.Context())
	v := auditView{Verified: strconv.FormatInt(n, 10)}
	if err != nil {
		v.Broken, v.Verified = true, err.Error()
	}
	s.renderAudit(w, r, c, v)
}

// adminView is the client management page's data.
type adminView struct {
	Role    string
	Kinds   []string
	Clients []store.Client
	Key     string // a new key, shown once
	KeyFor  string
}

func (s *Server) consoleAdmin(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	role := r.PathValue("role")
	if role != store.RoleVerifier && role != store.RoleInstitution && role != store.RoleOfficer {
		s.render(w, r, http.StatusNotFound, "denied", c, consoleData{Error: "officer.err.not_found"})
		return
	}
	v := adminView{Role: role, Kinds: authority.ClientKinds(role)}
	d := consoleData{}
	if r.Method == http.MethodPost {
		name := r.PostFormValue("name")
		var err error
		switch op := r.PostFormValue("op"); op {
		case "add":
			_, v.Key, err = s.a.AddClient(r.Context(), role, name, r.PostFormValue("kind"))
		case "rotate":
			v.Key, err = s.a.RotateClientKey(r.Context(), role, name)
		case "disable", "enable":
			if op == "disable" && role == store.RoleOfficer && name == c.officer.Name {
				// An admin locking themself out mid-session helps nobody.
				err = permit.Errorf(permit.ECodeConflict, "you cannot disable yourself")
			} else {
				err = s.a.SetClientDisabled(r.Context(), role, name, op == "disable")
			}
		default:
			err = permit.Errorf(permit.ECodeInvalid, "unknown operation")
		}
		if err != nil {
			_, d.Error = s.consoleErr(r, err)
		} else {
			d.Notice = "officer.admin.done"
			if v.Key != "" {
				v.KeyFor = name
			}
		}
	}
	cs, err := s.a.Clients(r.Context(), role)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v.Clients = cs
	d.Data = v
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "admin", c, d)
}
