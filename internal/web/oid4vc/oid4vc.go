// Package oid4vc serves wallets over the OpenID for Verifiable Credentials
// protocols (spec/formats.md §9, §10): the credential issuer and
// authorization server metadata, credential offers by reference, and the
// token, nonce and credential endpoints of OpenID4VCI's pre-authorized code
// flow; OpenID4VP's request objects (by request_uri) and response endpoint
// (direct_post). Any conformant wallet is its audience, the project's wallet page
// among them. Errors are those the OAuth and OpenID4VC specifications
// define ({"error", "error_description"}), not problem+json.
package oid4vc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Authority is what the wallet protocols ask of the authority.
type Authority interface {
	IssuerIdentifier() string
	SigningAlgorithms(ctx context.Context) ([]string, error)
	OfferByCode(ctx context.Context, code string) (*authority.Offer, error)
	RedeemOffer(ctx context.Context, code, txCode string) (*authority.AccessToken, error)
	CNonce(ctx context.Context) (string, error)
	IssueToWallet(ctx context.Context, req authority.CredentialRequest) (*permit.Credential, error)
	RequestObject(ctx context.Context, id string) (string, error)
	AnswerPresentation(ctx context.Context, id string, resp authority.PresentationResponse) error
}

// Handler serves the wallet protocols.
type Handler struct {
	site *httpx.Site
	a    Authority
	// nonces limits the nonce endpoint per client address: it is open to
	// anyone and each call writes a row. Nil means no limit of its own.
	nonces *httpx.Limiter
}

// New returns the wallet protocols' handler; nonces, if not nil, limits
// the nonce endpoint per client address, beyond the server's limit.
func New(site *httpx.Site, a Authority, nonces *httpx.Limiter) *Handler {
	return &Handler{site: site, a: a, nonces: nonces}
}

// Register adds the wallet protocols' routes to mux.
func (s *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/openid-credential-issuer", s.issuerMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.asMetadata)
	mux.HandleFunc("GET /oid4vci/offers/{code}", s.offer)
	mux.HandleFunc("POST /oid4vci/token", s.token)
	mux.HandleFunc("POST /oid4vci/nonce", s.nonce)
	mux.HandleFunc("POST /oid4vci/credential", s.credential)
	mux.HandleFunc("GET /oid4vp/requests/{id}", s.requestObject)
	mux.HandleFunc("POST /oid4vp/responses/{id}", s.response)
}

// deniedCodes are the refusals by the rules, and the facts they rest on
// (a permit gone from the registry, not linkable): at the credential
// endpoint each is credential_request_denied, the rule's code in the
// description.
var deniedCodes = map[permit.Code]bool{
	permit.ECodeQuotaExceeded: true, permit.ECodePermitExpired: true, permit.ECodePermitCancelled: true,
	permit.ECodeKindDisabled: true, permit.ECodeScopeNotAllowed: true, permit.ECodeReasonInvalid: true,
	permit.ECodeNotLinkable: true, permit.ECodeNotFound: true, permit.ECodeConflict: true, permit.ECodeForbidden: true,
}

// oauthError writes err as an OAuth error response: the protocol's codes as
// they are; invalid input as invalid_request (invalid_credential_request at
// the credential endpoint, denied); the rules' refusals at the credential
// endpoint as credential_request_denied; not_ready as 503
// temporarily_unavailable and anything internal as 500 server_error, so
// that a wallet tries again later rather than giving up.
func (s *Handler) oauthError(w http.ResponseWriter, r *http.Request, err error, denied bool) {
	pe, ok := s.site.Known(r, err)
	code, desc := permit.ECodeInternal, "internal error"
	if ok {
		code, desc = pe.Code, pe.Message
	}
	status := httpx.StatusOf(code)
	switch {
	case code == permit.ECodeInternal:
		code = "server_error"
	case code == permit.ECodeNotReady:
		code = "temporarily_unavailable"
	case code == permit.ECodeInvalid && denied:
		code, status = permit.ECodeInvalidCredentialReq, http.StatusBadRequest
	case code == permit.ECodeInvalid:
		code, status = permit.ECodeInvalidRequest, http.StatusBadRequest
	case denied && deniedCodes[code]:
		desc, code, status = string(code)+": "+desc, permit.ECodeCredentialRequestDenied, http.StatusBadRequest
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+string(code)+`"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, status, map[string]string{"error": string(code), "error_description": desc})
}

func (s *Handler) offer(w http.ResponseWriter, r *http.Request) {
	o, err := s.a.OfferByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, o.OfferObject())
}

func (s *Handler) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidRequest, "the token request is a form (application/x-www-form-urlencoded)"), false)
		return
	}
	if g := r.PostForm.Get("grant_type"); g != authority.PreAuthorizedGrant {
		s.oauthError(w, r, permit.Errorf(permit.ECodeUnsupportedGrantType, "only the pre-authorized code grant is supported"), false)
		return
	}
	code := r.PostForm.Get("pre-authorized_code")
	if code == "" {
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidRequest, "pre-authorized_code is required"), false)
		return
	}
	at, err := s.a.RedeemOffer(r.Context(), code, r.PostForm.Get("tx_code"))
	if err != nil {
		s.oauthError(w, r, err, false)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": at.Token, "token_type": "Bearer", "expires_in": int(at.ExpiresIn.Seconds()),
		"authorization_details": []map[string]any{{"type": "openid_credential",
			"credential_configuration_id": at.ConfigurationID, "credential_identifiers": []string{at.ConfigurationID}}},
	})
}

func (s *Handler) nonce(w http.ResponseWriter, r *http.Request) {
	if s.nonces != nil && !s.nonces.Allow(s.site.ClientAddr(r), time.Now()) {
		w.Header().Set("Retry-After", "1")
		s.oauthError(w, r, permit.Errorf(permit.ECodeRateLimited, "too many c_nonce requests from this address; slow down"), false)
		return
	}
	n, err := s.a.CNonce(r.Context())
	if err != nil {
		s.oauthError(w, r, err, false)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"c_nonce": n})
}

// credentialRequest is OpenID4VCI §8.2's request; proof is the single
// proof of earlier drafts, still sent by some wallets.
type credentialRequest struct {
	ConfigurationID      string `json:"credential_configuration_id"`
	CredentialIdentifier string `json:"credential_identifier"`
	Proofs               *struct {
		JWT []string `json:"jwt"`
	} `json:"proofs"`
	Proof *struct {
		ProofType string `json:"proof_type"`
		JWT       string `json:"jwt"`
	} `json:"proof"`
}

func (s *Handler) credential(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidToken, "an Authorization: Bearer access token is required"), false)
		return
	}
	var req credentialRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, httpx.MaxJSONBody))
	if err := dec.Decode(&req); err != nil {
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidCredentialReq, "the credential request is not the expected JSON"), false)
		return
	}
	config := req.ConfigurationID
	if config == "" {
		config = req.CredentialIdentifier // our identifiers are the configuration ids
	}
	var proof string
	switch {
	case req.Proofs != nil && req.Proof != nil:
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidCredentialReq, "send proofs or proof, not both"), false)
		return
	case req.Proofs != nil:
		if len(req.Proofs.JWT) != 1 {
			s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidProof, "exactly one jwt key proof is required"), false)
			return
		}
		proof = req.Proofs.JWT[0]
	case req.Proof != nil:
		if req.Proof.ProofType != "jwt" {
			s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidProof, "only the jwt proof type is supported"), false)
			return
		}
		proof = req.Proof.JWT
	}
	c, err := s.a.IssueToWallet(r.Context(), authority.CredentialRequest{AccessToken: token, ConfigurationID: config, Proof: proof})
	if err != nil {
		s.oauthError(w, r, err, true)
		return
	}
	var cred string
	if c.Kind == permit.LinkageProofKind {
		cred = string(c.Token)
	} else {
		cred = base64.RawURLEncoding.EncodeToString(c.Token)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"credentials": []map[string]string{{"credential": cred}}})
}

func (s *Handler) requestObject(w http.ResponseWriter, r *http.Request) {
	jws, err := s.a.RequestObject(r.Context(), r.PathValue("id"))
	if err != nil {
		s.oauthError(w, r, err, false)
		return
	}
	w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(jws))
}

// response is the direct_post response endpoint: a form with vp_token and
// state, or error when the holder declined.
func (s *Handler) response(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.oauthError(w, r, permit.Errorf(permit.ECodeInvalidRequest, "the response is a form (application/x-www-form-urlencoded)"), false)
		return
	}
	f := r.PostForm
	err := s.a.AnswerPresentation(r.Context(), r.PathValue("id"), authority.PresentationResponse{
		VPToken: f.Get("vp_token"), State: f.Get("state"), Error: f.Get("error")})
	if err != nil {
		s.oauthError(w, r, err, false)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{})
}
