package authority

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// OpenID4VP 1.0 presentation to institutions (spec/formats.md §10). An
// institution's back end asks for claims of a linkage proof with a DCQL
// query and its purpose; the holder's wallet fetches the signed request
// object, whose client identifier (prefix verifier_attestation) the
// authority vouches for with a Verifier Attestation JWT under a key of its
// trust list; the wallet posts the vp_token to the response endpoint
// (direct_post), where it is verified exactly as verify.VerifyLinkage does
// and accepted once; the institution reads the result by transaction id.

// PresentationTTL is how long a presentation request may be answered.
const PresentationTTL = 10 * time.Minute

// WalletAudience is the request object's aud for a wallet whose issuer is
// unknown (OpenID4VP §5.8, static discovery).
const WalletAudience = "https://self-issued.me/v2"

// PresentationRequest is what an institution gets for a new request.
type PresentationRequest struct {
	ID                   string    `json:"transaction_id"`
	ClientID             string    `json:"client_id"`
	RequestURI           string    `json:"request_uri"`
	AuthorizationRequest string    `json:"authorization_request"` // openid4vp://?client_id=…&request_uri=…
	ExpiresAt            time.Time `json:"expires_at"`
}

// ClientIDOf is an institution's OpenID4VP client identifier.
func ClientIDOf(c *permit.Client) string { return credential.ClientIDPrefix + c.Name }

// CreatePresentation records an institution's presentation request.
func (a *Authority) CreatePresentation(ctx context.Context, c *permit.Client, query json.RawMessage, purpose string) (*PresentationRequest, error) {
	if c == nil || c.Role != permit.RoleInstitution {
		return nil, permit.Errorf(permit.ECodeForbidden, "only institutions may ask for presentations")
	}
	var ps []permit.Problem
	q, err := credential.ParseDCQL(query)
	if err != nil {
		ps = append(ps, permit.Problem{Field: "dcql_query", Code: "invalid", Reason: strings.TrimPrefix(err.Error(), "credential: ")})
	}
	if l := utf8.RuneCountInString(strings.TrimSpace(purpose)); !utf8.ValidString(purpose) || l == 0 || l > MaxPurposeLength || hasControl(purpose) {
		ps = append(ps, permit.Problem{Field: "purpose", Code: "invalid",
			Reason: fmt.Sprintf("required: 1 to %d characters, no control characters", MaxPurposeLength)})
	} else if p := permit.CheckFreeText("purpose", purpose); p != nil {
		ps = append(ps, *p)
	}
	if ps != nil {
		return nil, &permit.Error{Code: permit.ECodeInvalid, Message: "invalid presentation request", Problems: ps}
	}
	qb, _ := json.Marshal(q.JSON())
	r := &store.VPRequest{ID: randomText(16), ClientID: c.ID, Purpose: purpose, Query: string(qb), Nonce: randomText(24),
		State: store.VPPending}
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		r.CreatedAt = tx.Now()
		r.ExpiresAt = r.CreatedAt.Add(PresentationTTL)
		if err := tx.AddVPRequest(ctx, r); err != nil {
			return err
		}
		ctx := WithActor(ctx, "institution:"+c.Name)
		return tx.Audit(ctx, event(ctx, "oid4vp.request", "presentation:"+r.ID, map[string]any{
			"institution": c.Name, "purpose": purpose, "claims": q.Claims}))
	})
	if err != nil {
		return nil, err
	}
	reqURI := a.cfg.PublicURL + "/oid4vp/requests/" + r.ID
	clientID := ClientIDOf(c)
	return &PresentationRequest{ID: r.ID, ClientID: clientID, RequestURI: reqURI, ExpiresAt: r.ExpiresAt,
		AuthorizationRequest: "openid4vp://?client_id=" + url.QueryEscape(clientID) + "&request_uri=" + url.QueryEscape(reqURI)}, nil
}

// pendingRequest loads a request the wallet may still answer, and its
// institution.
func (a *Authority) pendingRequest(ctx context.Context, id string) (*store.VPRequest, *permit.Client, error) {
	var r *store.VPRequest
	var c *permit.Client
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		if r, err = tx.VPRequest(ctx, id); err != nil {
			return err
		}
		c, err = tx.VPRequestClient(ctx, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	switch {
	case r.State != store.VPPending:
		return nil, nil, permit.Errorf(permit.ECodePresentationAnswered, "this presentation request was already answered")
	case !a.now().Before(r.ExpiresAt):
		return nil, nil, permit.Errorf(permit.ECodeNotFound, "this presentation request has expired")
	case c.Disabled():
		return nil, nil, permit.Errorf(permit.ECodeNotFound, "the institution of this request is no longer registered")
	}
	return r, c, nil
}

// RequestObject is the signed authorization request a wallet fetches by
// request_uri: a JWS (typ oauth-authz-req+jwt) whose header carries the
// Verifier Attestation JWT that binds the client identifier to the key that
// signed it; both are signed with the authority's active issuer key, in its
// suite (ES256 or SM2, spec §1.1), which wallets find in the trust list.
func (a *Authority) RequestObject(ctx context.Context, id string) (string, error) {
	r, c, err := a.pendingRequest(ctx, id)
	if err != nil {
		return "", err
	}
	var query map[string]any
	if err := json.Unmarshal([]byte(r.Query), &query); err != nil {
		return "", err
	}
	// The linkage proof presented may be signed by any key of the trust
	// list, in either suite (spec §1.1); the KB-JWT is the device's, ES256.
	algs, err := a.SigningAlgorithms(ctx)
	if err != nil {
		return "", err
	}
	var key *permit.IssuerKey
	var jws string
	err = a.db.View(ctx, func(tx *store.Tx) error {
		k, s, err := a.activeSigner(ctx, tx, r.ExpiresAt)
		if err != nil {
			return err
		}
		key = k
		pub, ok := s.Public().(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("authority: the issuer key is not ECDSA")
		}
		jwk, err := credential.NewJWK(pub)
		if err != nil {
			return err
		}
		now := a.now().Unix()
		att, err := credential.SignJWS(map[string]any{"typ": credential.TypVerifierAttestation, "kid": key.Kid}, map[string]any{
			"iss": a.cfg.PublicURL, "sub": c.Name, "iat": now, "exp": r.ExpiresAt.Unix(),
			"cnf": map[string]any{"jwk": jwk}, "client_name": c.Name, "category": c.Category}, s)
		if err != nil {
			return err
		}
		clientID := ClientIDOf(c)
		jws, err = credential.SignJWS(map[string]any{"typ": credential.TypRequestObject, "jwt": att}, map[string]any{
			"iss": clientID, "aud": WalletAudience, "client_id": clientID, "response_type": "vp_token",
			"response_mode": "direct_post", "response_uri": a.cfg.PublicURL + "/oid4vp/responses/" + r.ID,
			"nonce": r.Nonce, "state": r.ID, "dcql_query": query, "purpose": r.Purpose, "iat": now, "exp": r.ExpiresAt.Unix(),
			"client_metadata": map[string]any{"client_name": c.Name, "vp_formats_supported": map[string]any{
				credential.FormatSDJWT: map[string]any{"sd-jwt_alg_values": algs, "kb-jwt_alg_values": []string{credential.JOSEES256}}}},
		}, s)
		return err
	})
	return jws, err
}

// PresentationResponse is what a wallet posts to the response endpoint.
type PresentationResponse struct {
	VPToken string // the JSON object of OpenID4VP §8.1
	State   string
	Error   string // set when the holder declined (access_denied) or the wallet failed
}

// AnswerPresentation is the response endpoint: it verifies the vp_token
// exactly as verify.VerifyLinkage does (issuer signature against the trust
// list, KB-JWT aud = the client identifier and nonce = this request's,
// sd_hash, times, status) and checks that the claims disclosed are exactly
// those asked for, then records the result and its audit event. A request
// is answered once; a failed response leaves it pending.
func (a *Authority) AnswerPresentation(ctx context.Context, id string, resp PresentationResponse) error {
	r, c, err := a.pendingRequest(ctx, id)
	if err != nil {
		return err
	}
	if resp.State != r.ID {
		return permit.Errorf(permit.ECodeInvalidRequest, "state does not match this request")
	}
	ctx = WithActor(ctx, "institution:"+c.Name)
	if resp.Error != "" {
		if len(resp.Error) > 64 {
			resp.Error = resp.Error[:64]
		}
		return a.answer(ctx, r, store.VPDeclined, map[string]any{"error": resp.Error}, "oid4vp.declined",
			map[string]any{"error": resp.Error})
	}
	q, err := credential.ParseDCQL([]byte(r.Query))
	if err != nil {
		return err
	}
	pres, err := vpTokenFor(resp.VPToken, q.ID)
	if err != nil {
		return err
	}
	keys := &verifierKeys{a: a, ctx: ctx}
	res := verify.VerifyLinkage(ctx, keys, storeStatus{a}, pres,
		verify.LinkagePolicy{Audience: ClientIDOf(c), Nonce: r.Nonce, Required: q.Claims}, a.now())
	if keys.err != nil {
		return keys.err
	}
	if !res.Accepted() {
		return permit.Errorf(permit.ECodeInvalidPresentation, "the presentation was rejected: %s (%s)", res.Code, res.Message)
	}
	for name := range res.Claims {
		if !slices.Contains(q.Claims, name) {
			return permit.Errorf(permit.ECodeInvalidPresentation, "the presentation discloses %s, which was not asked for", name)
		}
	}
	result := map[string]any{"claims": res.Claims, "credential": map[string]any{"issuer": res.Credential.Issuer,
		"issued_at": res.Credential.IssuedAt, "expires": res.Credential.Expires}, "warnings": res.Warnings}
	return a.answer(ctx, r, store.VPAnswered, result, "oid4vp.answer", map[string]any{
		"institution": c.Name, "purpose": r.Purpose, "claims": q.Claims,
		"credential_status": fmt.Sprintf("%s#%d", res.Credential.StatusURI, res.Credential.StatusIndex)})
}

func (a *Authority) answer(ctx context.Context, r *store.VPRequest, state string, result any, action string, details any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	return a.db.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.AnswerVPRequest(ctx, r.ID, state, string(b))
		if err != nil {
			return err
		}
		if !ok {
			return permit.Errorf(permit.ECodePresentationAnswered, "this presentation request was already answered or has expired")
		}
		return tx.Audit(ctx, event(ctx, action, "presentation:"+r.ID, details))
	})
}

// vpTokenFor takes the one presentation for query id out of a vp_token:
// {"id": ["<sd-jwt>~…~<kb-jwt>"]} (a bare string is accepted too).
func vpTokenFor(vpToken, id string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vpToken), &m); err != nil || len(m) != 1 || m[id] == nil {
		return "", permit.Errorf(permit.ECodeInvalidRequest, "vp_token must be a JSON object with one member, %q", id)
	}
	var list []string
	if err := json.Unmarshal(m[id], &list); err != nil {
		var one string
		if err := json.Unmarshal(m[id], &one); err != nil {
			return "", permit.Errorf(permit.ECodeInvalidRequest, "vp_token.%s must be an array of one presentation", id)
		}
		list = []string{one}
	}
	if len(list) != 1 {
		return "", permit.Errorf(permit.ECodeInvalidRequest, "vp_token.%s must hold exactly one presentation", id)
	}
	return list[0], nil
}

// PresentationOutcome is what an institution reads by transaction id.
type PresentationOutcome struct {
	ID         string          `json:"transaction_id"`
	State      string          `json:"state"` // pending, answered, declined or expired
	Purpose    string          `json:"purpose"`
	Result     json.RawMessage `json:"result,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  time.Time       `json:"expires_at"`
	AnsweredAt *time.Time      `json:"answered_at,omitempty"`
}

// PresentationResult returns a request's outcome to the institution that
// made it; to anyone else it does not exist.
func (a *Authority) PresentationResult(ctx context.Context, c *permit.Client, id string) (*PresentationOutcome, error) {
	var r *store.VPRequest
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		r, err = tx.VPRequest(ctx, id)
		return err
	})
	if err != nil || c == nil || r.ClientID != c.ID {
		if err == nil || permit.ErrorCode(err) == permit.ECodeNotFound {
			return nil, permit.Errorf(permit.ECodeNotFound, "no such presentation request")
		}
		return nil, err
	}
	o := &PresentationOutcome{ID: r.ID, State: r.State, Purpose: r.Purpose, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
	if r.State == store.VPPending && !a.now().Before(r.ExpiresAt) {
		o.State = "expired"
	}
	if r.Result != "" {
		o.Result = json.RawMessage(r.Result)
		t := r.AnsweredAt
		o.AnsweredAt = &t
	}
	return o, nil
}
