package web

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// Request body limits: a selfie is the only large input.
const (
	maxJSONBody   = 64 << 10
	maxSelfieBody = 3 << 20
)

func (s *Server) apiRoutes() {
	s.mux.HandleFunc("POST /api/v1/proofing", s.startProofing)
	s.mux.HandleFunc("GET /api/v1/proofing", s.proofingStatus)
	s.mux.HandleFunc("POST /api/v1/proofing/code", s.submitCode)
	s.mux.HandleFunc("POST /api/v1/proofing/face", s.submitFace)
	s.mux.HandleFunc("POST /api/v1/nonce", s.nonce)
	s.mux.HandleFunc("POST /api/v1/epermits", s.apply)
	s.mux.HandleFunc("GET /api/v1/epermits", s.myEPermits)
	s.mux.HandleFunc("DELETE /api/v1/epermits/{cti}", s.cancel)
	s.mux.HandleFunc("DELETE /api/v1/session", s.endSession)
	s.verifierRoutes()
	s.officerRoutes()
	s.linkageRoutes()
	if s.outbox != nil {
		s.mux.HandleFunc("GET /demo/outbox", s.demoOutbox)
	}
}

// decode reads a JSON body strictly: known fields only, one value, bounded.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return permit.Errorf(permit.ECodeInvalid, "the request body is larger than %d bytes", limit)
		}
		return permit.Errorf(permit.ECodeInvalid, "the request body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return permit.Errorf(permit.ECodeInvalid, "the request body holds more than one JSON value")
	}
	return nil
}

// pathCTI is the credential id in the path: {cti}, 32 hex digits.
func pathCTI(r *http.Request) ([]byte, error) {
	cti, err := hex.DecodeString(r.PathValue("cti"))
	if err != nil || len(cti) != 16 {
		return nil, permit.Errorf(permit.ECodeInvalid, "cti must be 32 hex digits")
	}
	return cti, nil
}

// bearer returns the Authorization: Bearer credential.
func bearer(r *http.Request) (string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || v == "" {
		return "", permit.Errorf(permit.ECodeUnauthorized, "an Authorization: Bearer header is required")
	}
	return v, nil
}

type startProofingRequest struct {
	DocumentType   permit.DocumentType `json:"document_type"`
	DocumentNumber string              `json:"document_number"`
	Name           string              `json:"name"`
	BirthDate      permit.Date         `json:"birth_date"`
}

// beginProofing reads a start-proofing request and starts proofing; on
// failure it has answered.
func (s *Server) beginProofing(w http.ResponseWriter, r *http.Request) (*authority.ProofingStarted, bool) {
	var req startProofingRequest
	err := decode(w, r, maxJSONBody, &req)
	if err == nil && (!req.DocumentType.Valid() || req.DocumentNumber == "" || req.Name == "" || req.BirthDate.IsZero()) {
		err = permit.Errorf(permit.ECodeInvalid, "document_type, document_number, name and birth_date are required")
	}
	var started *authority.ProofingStarted
	if err == nil {
		started, err = s.a.StartProofing(r.Context(), authority.ProofingStart{DocumentType: req.DocumentType,
			DocumentNumber: req.DocumentNumber, Name: req.Name, BirthDate: req.BirthDate, Client: clientAddr(r, s.trust)})
	}
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	return started, true
}

func (s *Server) startProofing(w http.ResponseWriter, r *http.Request) {
	started, ok := s.beginProofing(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"session": started.Secret, "phone_hint": started.PhoneHint,
		"code_expires_at": started.CodeExpiresAt, "next": "code"})
}

func (s *Server) writeProofingState(w http.ResponseWriter, st *authority.ProofingState) {
	out := map[string]any{"state": st.State}
	if st.Token != "" {
		out["token"], out["token_expires_at"] = st.Token, st.ExpiresAt
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) submitCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	secret, err := bearer(r)
	if err == nil {
		err = decode(w, r, maxJSONBody, &req)
	}
	var st *authority.ProofingState
	if err == nil {
		st, err = s.a.SubmitCode(r.Context(), secret, req.Code)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeProofingState(w, st)
}

func (s *Server) submitFace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Selfie []byte `json:"selfie"` // base64
	}
	secret, err := bearer(r)
	if err == nil {
		err = decode(w, r, maxSelfieBody, &req)
	}
	var st *authority.ProofingState
	if err == nil {
		st, err = s.a.SubmitFace(r.Context(), secret, req.Selfie)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeProofingState(w, st)
}

func (s *Server) proofingStatus(w http.ResponseWriter, r *http.Request) {
	secret, err := bearer(r)
	var st *authority.ProofingState
	if err == nil {
		st, err = s.a.ProofingStatus(r.Context(), secret)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeProofingState(w, st)
}

func (s *Server) nonce(w http.ResponseWriter, r *http.Request) {
	token, err := bearer(r)
	var nonce string
	var exp time.Time
	if err == nil {
		nonce, exp, err = s.a.Nonce(r.Context(), token)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"nonce": nonce, "expires_at": exp})
}

type applyRequest struct {
	Reason    string         `json:"reason"`
	HolderKey credential.JWK `json:"holder_key"`
	Signature string         `json:"signature"` // base64url r||s over the nonce
}

// credentialJSON is how the API shows an e-permit to its holder.
type credentialJSON struct {
	ID          string    `json:"cti"`
	Credential  string    `json:"credential"` // base64url of the COSE_Sign1 bytes
	State       string    `json:"state"`
	StateReason string    `json:"state_reason,omitempty"`
	IssuedAt    time.Time `json:"issued_at"`
	NotBefore   time.Time `json:"not_before"`
	ExpiresAt   time.Time `json:"expires_at"`
}

func toJSON(c *permit.Credential) credentialJSON {
	return credentialJSON{ID: hex.EncodeToString(c.ID), Credential: base64.RawURLEncoding.EncodeToString(c.Token),
		State: string(c.State), StateReason: c.StateReason, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore, ExpiresAt: c.ExpiresAt}
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request) {
	c, err := s.applyRequest(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toJSON(c))
}

func (s *Server) applyRequest(w http.ResponseWriter, r *http.Request) (*permit.Credential, error) {
	token, err := bearer(r)
	if err != nil {
		return nil, err
	}
	var req applyRequest
	if err := decode(w, r, maxJSONBody, &req); err != nil {
		return nil, err
	}
	reason, err := permit.ParseReason(req.Reason)
	if err != nil {
		return nil, err
	}
	pub, err := req.HolderKey.Key()
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "holder_key: %v", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(req.Signature)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "signature must be base64url")
	}
	return s.a.Apply(r.Context(), token, authority.ApplyRequest{Reason: reason, HolderKey: pub, Signature: sig,
		IdempotencyKey: r.Header.Get("Idempotency-Key")})
}

// endSession signs the applicant out: the bearer token stops working.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	token, err := bearer(r)
	if err == nil {
		err = s.a.SignOut(r.Context(), token)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) myEPermits(w http.ResponseWriter, r *http.Request) {
	token, err := bearer(r)
	var cs []permit.Credential
	if err == nil {
		cs, err = s.a.MyCredentials(r.Context(), token)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]credentialJSON, len(cs))
	for i := range cs {
		out[i] = toJSON(&cs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"epermits": out})
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	token, err := bearer(r)
	if err == nil {
		var cti []byte
		if cti, err = pathCTI(r); err == nil {
			err = s.a.CancelMine(r.Context(), token, cti)
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) demoOutbox(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"demo": true, "messages": s.outbox.Messages()})
}
