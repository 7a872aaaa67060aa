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
	Code     permit.Code      `json:"code"`
	Detail   string           `json:"detail,omitempty"`
	Instance string           `json:"instance,omitempty"`
	Problems []permit.Problem `json:"problems,omitempty"`
}

// problem writes a problem+json response with code's status.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, code permit.Code, detail string) {
	s.writeProblem(w, problemDoc{Status: statusOf(code), Code: code, Detail: detail})
}

func (s *Server) writeProblem(w http.ResponseWriter, p problemDoc) {
	p.Type = "urn:epermit:problem:" + string(p.Code)
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// httpStatus is the HTTP status of every code. The rules' refusals are 422:
// the request was understood, but the rules refuse it.
var httpStatus = map[permit.Code]int{
	permit.ECodeInvalid:         http.StatusBadRequest,
	permit.ECodeNotFound:        http.StatusNotFound,
	permit.ECodeConflict:        http.StatusConflict,
	permit.ECodeInternal:        http.StatusInternalServerError,
	permit.ECodeReasonInvalid:   http.StatusUnprocessableEntity,
	permit.ECodePermitExpired:   http.StatusUnprocessableEntity,
	permit.ECodePermitCancelled: http.StatusUnprocessableEntity,
	permit.ECodeQuotaExceeded:   http.StatusUnprocessableEntity,
	permit.ECodeKindDisabled:    http.StatusUnprocessableEntity,
	permit.ECodeScopeNotAllowed: http.StatusUnprocessableEntity,
	permit.ECodeUnauthorized:    http.StatusUnauthorized,
	permit.ECodeForbidden:       http.StatusForbidden,
	permit.ECodeDetailsMismatch: http.StatusUnprocessableEntity,
	permit.ECodeCodeInvalid:     http.StatusUnprocessableEntity,
	permit.ECodeCodeExpired:     http.StatusUnprocessableEntity,
	permit.ECodeTooMany:         http.StatusTooManyRequests,
	permit.ECodeSessionExpired:  http.StatusUnauthorized,
	permit.ECodeWrongState:      http.StatusConflict,
	permit.ECodeFaceRejected:    http.StatusUnprocessableEntity,
	permit.ECodeProofInvalid:    http.StatusUnprocessableEntity,
	permit.ECodeIdempotency:     http.StatusConflict,
	permit.ECodeNotLinkable:     http.StatusUnprocessableEntity,
	permit.ECodeNotValid:        http.StatusUnprocessableEntity,
	permit.ECodePortraitChanged: http.StatusUnprocessableEntity,
	permit.ECodeRateLimited:     http.StatusTooManyRequests,
	permit.ECodeCSRF:            http.StatusForbidden,
	permit.ECodeNotAcceptable:   http.StatusNotAcceptable,
	permit.ECodeNotReady:        http.StatusServiceUnavailable,
}

// statusOf is code's HTTP status. A code missing from the table (the test
// keeps that from happening) is taken as a refusal by the rules.
func statusOf(code permit.Code) int {
	if st, ok := httpStatus[code]; ok {
		return st
	}
	return http.StatusUnprocessableEntity
}

// error maps err once to a problem response. Errors that are not
// *permit.Error are internal: logged in full, shown as a bare "internal".
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	var pe *permit.Error
	if !errors.As(err, &pe) {
		s.log.Error("internal error", "method", r.Method, "route", r.Pattern, "err", err)
		s.problem(w, r, permit.ECodeInternal, "internal error")
		return
	}
	s.writeProblem(w, problemDoc{Status: statusOf(pe.Code), Code: pe.Code, Detail: pe.Message, Problems: pe.Problems})
}
