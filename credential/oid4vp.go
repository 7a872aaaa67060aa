package credential

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// OpenID4VP 1.0 (spec/formats.md §10): the DCQL queries an institution may
// ask for a linkage proof with, and the JWS the authority signs requests
// with.

// OpenID4VP identifiers of spec/formats.md §10.
const (
	TypRequestObject       = "oauth-authz-req+jwt"      // a signed authorization request
	TypVerifierAttestation = "verifier-attestation+jwt" // the authority's word that a client is registered
	ClientIDPrefix         = "verifier_attestation:"    // the client identifier prefix
)

// ErrDCQL is a DCQL query epermit does not accept (spec/formats.md §10).
var ErrDCQL = errors.New("credential: unsupported DCQL query")

// DCQLQuery is the one shape of DCQL epermit accepts: one linkage proof,
// and the disclosable claims wanted from it, all of them required.
type DCQLQuery struct {
	ID     string   // the credential query id, the key of the vp_token
	Claims []string // names of spec §6's disclosable claims, no repeats
}

type dcqlWire struct {
	Credentials []struct {
		ID     string `json:"id"`
		Format string `json:"format"`
		Meta   struct {
			VCTValues []string `json:"vct_values"`
		} `json:"meta"`
		Claims []struct {
			ID   string `json:"id"`
			Path []any  `json:"path"`
		} `json:"claims"`
		ClaimSets json.RawMessage `json:"claim_sets"`
		Multiple  bool            `json:"multiple"`
	} `json:"credentials"`
	CredentialSets json.RawMessage `json:"credential_sets"`
}

var dcqlIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseDCQL reads a DCQL query (OpenID4VP 1.0 §6) and accepts it if it asks
// for exactly one dc+sd-jwt credential of vct urn:epermit:vct:permit-linkage:1
// with at least one claim, each a one-element path naming a disclosable
// claim of spec §6; no claim_sets, credential_sets or multiple.
func ParseDCQL(b []byte) (*DCQLQuery, error) {
	if len(b) > 8<<10 {
		return nil, fmt.Errorf("%w: over 8 KiB", ErrDCQL)
	}
	var w dcqlWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrDCQL, err)
	}
	if len(w.Credentials) != 1 || w.CredentialSets != nil {
		return nil, fmt.Errorf("%w: ask for exactly one credential, without credential_sets", ErrDCQL)
	}
	c := w.Credentials[0]
	switch {
	case !dcqlIDRE.MatchString(c.ID):
		return nil, fmt.Errorf("%w: the credential query id must be 1 to 64 of A-Z a-z 0-9 _ -", ErrDCQL)
	case c.Format != FormatSDJWT:
		return nil, fmt.Errorf("%w: format must be %s", ErrDCQL, FormatSDJWT)
	case len(c.Meta.VCTValues) != 1 || c.Meta.VCTValues[0] != LinkageVCT:
		return nil, fmt.Errorf("%w: meta.vct_values must be [%q]", ErrDCQL, LinkageVCT)
	case c.ClaimSets != nil || c.Multiple:
		return nil, fmt.Errorf("%w: claim_sets and multiple are not supported: every claim asked for is required", ErrDCQL)
	case len(c.Claims) == 0:
		return nil, fmt.Errorf("%w: ask for at least one claim", ErrDCQL)
	}
	q := &DCQLQuery{ID: c.ID}
	for _, cl := range c.Claims {
		name, ok := "", len(cl.Path) == 1
		if ok {
			name, ok = cl.Path[0].(string)
		}
		if !ok || !slices.Contains(LinkageClaimNames, name) {
			return nil, fmt.Errorf("%w: each claim's path is one disclosable claim name of the linkage proof", ErrDCQL)
		}
		if slices.Contains(q.Claims, name) {
			return nil, fmt.Errorf("%w: claim %s asked for twice", ErrDCQL, name)
		}
		q.Claims = append(q.Claims, name)
	}
	return q, nil
}

// JSON is the query in DCQL, as it goes into a request object.
func (q *DCQLQuery) JSON() map[string]any {
	claims := make([]map[string]any, len(q.Claims))
	for i, c := range q.Claims {
		claims[i] = map[string]any{"path": []string{c}}
	}
	return map[string]any{"credentials": []map[string]any{{"id": q.ID, "format": FormatSDJWT,
		"meta": map[string]any{"vct_values": []string{LinkageVCT}}, "claims": claims}}}
}

// SignJWS signs claims as a compact JWS under header with an issuer key,
// in the key's suite (spec §1.1): alg is set to ES256 for a P-256 key, SM2
// for an SM2 key.
func SignJWS(header map[string]any, claims any, signer crypto.Signer) (string, error) {
	pub, suite, err := signerSuite(signer)
	if err != nil {
		return "", err
	}
	h := map[string]any{}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = suite.jose
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(pb)
	sig, err := suite.signMessage(signer, pub, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
