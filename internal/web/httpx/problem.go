package httpx

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/epermit/epermit/permit"
)

// Problem is an RFC 9457 problem detail. Code is the stable reason code
// clients match on; Detail is for people.
type Problem struct {
	Type     string           `json:"type"`
	Title    string           `json:"title"`
	Status   int              `json:"status"`
	Code     permit.Code      `json:"code"`
	Detail   string           `json:"detail,omitempty"`
	Instance string           `json:"instance,omitempty"`
	Problems []permit.Problem `json:"problems,omitempty"`
}

// httpStatus is the HTTP status of every code. The rules' refusals are 422:
// the request was understood, but the rules refuse it.
var httpStatus = map[permit.Code]int{
	permit.ECodeInvalid:                 http.StatusBadRequest,
	permit.ECodeNotFound:                http.StatusNotFound,
	permit.ECodeConflict:                http.StatusConflict,
	permit.ECodeInternal:                http.StatusInternalServerError,
	permit.ECodeReasonInvalid:           http.StatusUnprocessableEntity,
	permit.ECodePermitExpired:           http.StatusUnprocessableEntity,
	permit.ECodePermitCancelled:         http.StatusUnprocessableEntity,
	permit.ECodeQuotaExceeded:           http.StatusUnprocessableEntity,
	permit.ECodeKindDisabled:            http.StatusUnprocessableEntity,
	permit.ECodeScopeNotAllowed:         http.StatusUnprocessableEntity,
	permit.ECodeUnauthorized:            http.StatusUnauthorized,
	permit.ECodeForbidden:               http.StatusForbidden,
	permit.ECodeDetailsMismatch:         http.StatusUnprocessableEntity,
	permit.ECodeCodeInvalid:             http.StatusUnprocessableEntity,
	permit.ECodeCodeExpired:             http.StatusUnprocessableEntity,
	permit.ECodeTooMany:                 http.StatusTooManyRequests,
	permit.ECodeSessionExpired:          http.StatusUnauthorized,
	permit.ECodeWrongState:              http.StatusConflict,
	permit.ECodeFaceRejected:            http.StatusUnprocessableEntity,
	permit.ECodeProofInvalid:            http.StatusUnprocessableEntity,
	permit.ECodeIdempotency:             http.StatusConflict,
	permit.ECodeNotLinkable:             http.StatusUnprocessableEntity,
	permit.ECodeNotValid:                http.StatusUnprocessableEntity,
	permit.ECodePortraitChanged:         http.StatusUnprocessableEntity,
	permit.ECodeInvalidRequest:          http.StatusBadRequest,
	permit.ECodeInvalidCredentialReq:    http.StatusBadRequest,
	permit.ECodeInvalidGrant:            http.StatusBadRequest,
	permit.ECodeUnsupportedGrantType:    http.StatusBadRequest,
	permit.ECodeInvalidToken:            http.StatusUnauthorized,
	permit.ECodeInvalidProof:            http.StatusBadRequest,
	permit.ECodeInvalidNonce:            http.StatusBadRequest,
	permit.ECodeUnknownConfiguration:    http.StatusBadRequest,
	permit.ECodeCredentialRequestDenied: http.StatusBadRequest,
	permit.ECodeInvalidPresentation:     http.StatusBadRequest,
	permit.ECodePresentationAnswered:    http.StatusConflict,
	permit.ECodeRateLimited:             http.StatusTooManyRequests,
	permit.ECodeCSRF:                    http.StatusForbidden,
	permit.ECodeNotAcceptable:           http.StatusNotAcceptable,
	permit.ECodeNotReady:                http.StatusServiceUnavailable,
}

// StatusOf is code's HTTP status. A code missing from the table (a test
// keeps that from happening) is taken as a refusal by the rules.
func StatusOf(code permit.Code) int {
	if st, ok := httpStatus[code]; ok {
		return st
	}
	return http.StatusUnprocessableEntity
}

// WriteProblem writes a problem+json response with code's status.
func WriteProblem(w http.ResponseWriter, code permit.Code, detail string) {
	writeProblem(w, Problem{Status: StatusOf(code), Code: code, Detail: detail})
}

func writeProblem(w http.ResponseWriter, p Problem) {
	p.Type = "urn:epermit:problem:" + string(p.Code)
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// Error maps err once to a problem response. Errors that are not
// *permit.Error are internal: logged in full, shown as a bare "internal".
func (s *Site) Error(w http.ResponseWriter, r *http.Request, err error) {
	pe, ok := s.Known(r, err)
	if !ok {
		if WantsPage(r) {
			s.ErrorPage(w, r, http.StatusInternalServerError)
			return
		}
		WriteProblem(w, permit.ECodeInternal, "internal error")
		return
	}
	writeProblem(w, Problem{Status: StatusOf(pe.Code), Code: pe.Code, Detail: pe.Message, Problems: pe.Problems})
}

// Known returns err's *permit.Error, or logs err in full and reports false
// when it is internal: what a caller may not see.
func (s *Site) Known(r *http.Request, err error) (*permit.Error, bool) {
	var pe *permit.Error
	if !errors.As(err, &pe) {
		s.Log.Error("internal error", "method", r.Method, "route", r.Pattern, "err", err)
		return nil, false
	}
	return pe, true
}
