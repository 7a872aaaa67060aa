package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/epermit/epermit/permit"
)

// problemDoc is an RFC 9457 problem detail. Code is the stable reason code
// clients match on; Detail is for people.
type problemDoc struct {
	Type     string           `json:"type"`
	Title    string           `json:"title"`
	Status   int              `json:"status"`
	Code     string           `json:"code"`
	Detail   string           `json:"detail,omitempty"`
	Instance string           `json:"instance,omitempty"`
	Problems []permit.Problem `json:"problems,omitempty"`
}

// problem writes a problem+json response.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	s.writeProblem(w, problemDoc{Status: status, Code: code, Detail: detail})
}

func (s *Server) writeProblem(w http.ResponseWriter, p problemDoc) {
	p.Type = "urn:epermit:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// statusOf maps domain codes to HTTP statuses; codes not listed are 422
// (the request was understood but the rules refuse it).
var statusOf = map[string]int{
	permit.ECodeInvalid:    http.StatusBadRequest,
	permit.ECodeNotFound:   http.StatusNotFound,
	permit.ECodeConflict:   http.StatusConflict,
	"unauthorized":         http.StatusUnauthorized,
	"forbidden":            http.StatusForbidden,
	"rate_limited":         http.StatusTooManyRequests,
	"too_many_attempts":    http.StatusTooManyRequests,
	"session_expired":      http.StatusUnauthorized,
	"wrong_state":          http.StatusConflict,
	"idempotency_conflict": http.StatusConflict,
}

// error maps err once to a problem response. Errors that are not
// *permit.Error are internal: logged in full, shown as a bare "internal".
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	var pe *permit.Error
	if !errors.As(err, &pe) {
		s.log.Error("internal error", "method", r.Method, "route", r.Pattern, "err", err)
		s.problem(w, r, http.StatusInternalServerError, permit.ECodeInternal, "internal error")
		return
	}
	status, ok := statusOf[pe.Code]
	if !ok {
		status = http.StatusUnprocessableEntity
	}
	s.writeProblem(w, problemDoc{Status: status, Code: pe.Code, Detail: pe.Message, Problems: pe.Problems})
}
