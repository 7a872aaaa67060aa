package officer

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// faceView is one pending face review as the queue lists it.
type faceView struct {
	ID       int64
	Document string
	Waiting  string
}

func (s *Handler) consoleFaces(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.renderFaces(w, r, c, http.StatusOK, consoleData{})
}

func (s *Handler) renderFaces(w http.ResponseWriter, r *http.Request, c *consoleCtx, status int, d consoleData) {
	fs, err := s.a.PendingFaceReviews(r.Context())
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	var vs []faceView
	for _, f := range fs {
		vs = append(vs, faceView{ID: f.ID, Document: f.Document, Waiting: s.stamp(f.CreatedAt)})
	}
	d.Data = vs
	s.render(w, r, status, "faces", c, d)
}

func (s *Handler) consoleFaceImage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	which := r.PathValue("which")
	if err != nil || (which != "selfie" && which != "portrait") {
		httpx.WriteProblem(w, permit.ECodeNotFound, "no such image")
		return
	}
	f, err := s.a.PendingFaceReview(r.Context(), id)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	img := f.Selfie
	if which == "portrait" {
		img = f.Portrait
	}
	httpx.WriteImage(w, img)
}

func (s *Handler) consoleReviewFace(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		err = permit.Errorf(permit.ECodeNotFound, "no such review")
	} else {
		err = s.a.ReviewFace(r.Context(), id, r.PostFormValue("decision") == "approve", strings.TrimSpace(r.PostFormValue("note")))
	}
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.renderFaces(w, r, c, status, consoleData{Error: msg})
		return
	}
	notice := "officer.faces.rejected"
	if r.PostFormValue("decision") == "approve" {
		notice = "officer.faces.approved"
	}
	s.renderFaces(w, r, c, http.StatusOK, consoleData{Notice: notice})
}
