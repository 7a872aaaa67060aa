package applicant

import (
	"context"
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Identity proofing, one handler a step: start (real-name check), the
// one-time code, the face, and the status an officer's review changes.

type startProofingRequest struct {
	DocumentType   permit.DocumentType `json:"document_type"`
	DocumentNumber string              `json:"document_number"`
	Name           string              `json:"name"`
	BirthDate      permit.Date         `json:"birth_date"`
}

func (s *Handler) startProofing(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req startProofingRequest
		err := httpx.Decode(w, r, httpx.MaxJSONBody, &req)
		if err == nil {
			// Each missing field is named, as every validation error does.
			var ps []permit.Problem
			for _, f := range []struct {
				name    string
				missing bool
			}{{"document_type", !req.DocumentType.Valid()}, {"document_number", req.DocumentNumber == ""},
				{"name", req.Name == ""}, {"birth_date", req.BirthDate.IsZero()}} {
				if f.missing {
					ps = append(ps, permit.Problem{Field: f.name, Code: "required", Reason: "required"})
				}
			}
			if ps != nil {
				err = &permit.Error{Code: permit.ECodeInvalid, Message: "document_type, document_number, name and birth_date are required", Problems: ps}
			}
		}
		var started *authority.ProofingStarted
		if err == nil {
			started, err = s.a.StartProofing(r.Context(), authority.ProofingStart{DocumentType: req.DocumentType,
				DocumentNumber: req.DocumentNumber, Name: req.Name, BirthDate: req.BirthDate, Client: s.site.ClientAddr(r),
				Lang: httpx.PickLang(r)})
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		c.started(w, r, started)
	}
}

// proofingStep serves a proofing step that takes a JSON body of at most
// limit bytes: the channel's secret, then the body, then the step, answered
// with the session's new state.
func proofingStep[T any](s *Handler, c channel, limit int64, step func(ctx context.Context, secret string, req *T) (*authority.ProofingState, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		secret, err := c.proofingSecret(r)
		if err == nil {
			err = httpx.Decode(w, r, limit, &req)
		}
		var st *authority.ProofingState
		if err == nil {
			st, err = step(r.Context(), secret, &req)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		c.state(w, r, st)
	}
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *Handler) submitCode(c channel) http.HandlerFunc {
	return proofingStep(s, c, httpx.MaxJSONBody, func(ctx context.Context, secret string, req *codeRequest) (*authority.ProofingState, error) {
		return s.a.SubmitCode(ctx, secret, req.Code)
	})
}

// resendCode sends a new one-time code for the session, in the
// applicant's language.
func (s *Handler) resendCode(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, err := c.proofingSecret(r)
		var sent *authority.ProofingStarted
		if err == nil {
			sent, err = s.a.ResendCode(r.Context(), secret, httpx.PickLang(r))
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"phone_hint": sent.PhoneHint, "code_expires_at": sent.CodeExpiresAt})
	}
}

type faceRequest struct {
	Selfie []byte `json:"selfie"` // base64
}

func (s *Handler) submitFace(c channel) http.HandlerFunc {
	return proofingStep(s, c, httpx.MaxSelfieBody, func(ctx context.Context, secret string, req *faceRequest) (*authority.ProofingState, error) {
		return s.a.SubmitFace(ctx, secret, req.Selfie)
	})
}

// proofingStatus is polled while an officer reviews the face.
func (s *Handler) proofingStatus(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, err := c.proofingSecret(r)
		var st *authority.ProofingState
		if err == nil {
			st, err = s.a.ProofingStatus(r.Context(), secret)
		}
		if err != nil {
			s.site.Error(w, r, err)
			return
		}
		c.state(w, r, st)
	}
}
