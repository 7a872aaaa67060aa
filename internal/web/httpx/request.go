package httpx

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/epermit/epermit/permit"
)

// Request body limits: a selfie is the only large input.
const (
	MaxJSONBody   = 64 << 10
	MaxSelfieBody = 3 << 20
)

// Decode reads a JSON body strictly: known fields only, one value, bounded.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
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

// PathCTI is the credential id in the path: {cti}, 32 hex digits.
func PathCTI(r *http.Request) ([]byte, error) {
	cti, err := hex.DecodeString(r.PathValue("cti"))
	if err != nil || len(cti) != 16 {
		return nil, permit.Errorf(permit.ECodeInvalid, "cti must be 32 hex digits")
	}
	return cti, nil
}

// Bearer returns the Authorization: Bearer credential.
func Bearer(r *http.Request) (string, error) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || v == "" {
		return "", permit.Errorf(permit.ECodeUnauthorized, "an Authorization: Bearer header is required")
	}
	return v, nil
}

// Signature decodes a base64url signature field.
func Signature(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, permit.Errorf(permit.ECodeInvalid, "signature must be base64url")
	}
	return b, nil
}
