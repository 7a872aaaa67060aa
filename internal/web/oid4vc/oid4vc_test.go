package oid4vc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// failing is an Authority whose every use case fails with err.
type failing struct{ err error }

func (f failing) IssuerIdentifier() string { return "https://epermit.test" }
func (f failing) SigningAlgorithms(context.Context) ([]string, error) {
	return nil, f.err
}
func (f failing) OfferByCode(context.Context, string) (*authority.Offer, error) {
	return nil, f.err
}
func (f failing) RedeemOffer(context.Context, string, string) (*authority.AccessToken, error) {
	return nil, f.err
}
func (f failing) CNonce(context.Context) (string, error) { return "", f.err }
func (f failing) IssueToWallet(context.Context, authority.CredentialRequest) (*permit.Credential, error) {
	return nil, f.err
}
func (f failing) RequestObject(context.Context, string) (string, error) { return "", f.err }
func (f failing) AnswerPresentation(context.Context, string, authority.PresentationResponse) error {
	return f.err
}

// The use cases' errors as OAuth errors, at the credential endpoint (where
// the rules' refusals are credential_request_denied) and at the nonce
// endpoint: not_ready is 503 temporarily_unavailable and an internal error
// 500 server_error at both, never a denial the wallet would not retry.
func TestOAuthErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		credStatus int
		credCode   string
		nonceCode  string
	}{
		{"not ready", permit.Errorf(permit.ECodeNotReady, "no active issuer key"), 503, "temporarily_unavailable", "temporarily_unavailable"},
		{"internal", errors.New("disk on fire"), 500, "server_error", "server_error"},
		{"quota", permit.Errorf(permit.ECodeQuotaExceeded, "at most 2"), 400, "credential_request_denied", "quota_exceeded"},
		{"permit expired", permit.Errorf(permit.ECodePermitExpired, "expired"), 400, "credential_request_denied", "permit_expired"},
		{"not linkable", permit.Errorf(permit.ECodeNotLinkable, "no residence permit"), 400, "credential_request_denied", "not_linkable"},
		{"permit gone", permit.Errorf(permit.ECodeNotFound, "no such permit"), 400, "credential_request_denied", "not_found"},
		{"invalid", permit.Errorf(permit.ECodeInvalid, "bad key"), 400, "invalid_credential_request", "invalid_request"},
		{"invalid proof", permit.Errorf(permit.ECodeInvalidProof, "stale"), 400, "invalid_proof", "invalid_proof"},
		{"invalid token", permit.Errorf(permit.ECodeInvalidToken, "spent"), 401, "invalid_token", "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := &httpx.Site{Log: slog.New(slog.DiscardHandler)}
			mux := http.NewServeMux()
			New(site, failing{tc.err}, nil).Register(mux)
			call := func(path, auth, body string) (int, map[string]string, http.Header) {
				req := httptest.NewRequest("POST", path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if auth != "" {
					req.Header.Set("Authorization", "Bearer "+auth)
				}
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				var out map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
					t.Fatalf("%s: not JSON: %q", path, w.Body)
				}
				return w.Code, out, w.Header()
			}
			code, e, h := call("/oid4vci/credential", "tok", `{"credential_configuration_id":"epermit_ep1","proofs":{"jwt":["x"]}}`)
			if code != tc.credStatus || e["error"] != tc.credCode || h.Get("Cache-Control") != "no-store" {
				t.Errorf("credential endpoint = %d %v, want %d %s", code, e, tc.credStatus, tc.credCode)
			}
			if tc.credCode == "credential_request_denied" && !strings.HasPrefix(e["error_description"], tc.nonceCode+": ") {
				t.Errorf("denied without the rule's code: %q", e["error_description"])
			}
			if _, e, _ := call("/oid4vci/nonce", "", ""); e["error"] != tc.nonceCode {
				t.Errorf("nonce endpoint = %v, want %s", e, tc.nonceCode)
			}
		})
	}
}
