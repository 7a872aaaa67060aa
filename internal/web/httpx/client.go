package httpx

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/epermit/epermit/permit"
)

// ClientAuthenticator finds the enabled client of a role by its API key.
type ClientAuthenticator interface {
	AuthenticateClient(ctx context.Context, role, key string) (*permit.Client, error)
}

// Clients authenticates relying parties and officers' tools by their API
// keys and gives each its own rate limit, so one noisy client cannot starve
// the others: the client's own rate when an operator set one
// (`epermit verifier set-rate`), else Limit's.
type Clients struct {
	Site  *Site
	Auth  ClientAuthenticator
	Limit *Limiter // per client, after authentication
}

// Client authenticates the request's client of role; on failure it has
// answered.
func (c *Clients) Client(w http.ResponseWriter, r *http.Request, role string) (*permit.Client, bool) {
	key, err := Bearer(r)
	var cl *permit.Client
	if err == nil {
		cl, err = c.Auth.AuthenticateClient(r.Context(), role, key)
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="epermit"`)
		c.Site.Error(w, r, err)
		return nil, false
	}
	if !c.Limit.AllowRate(strconv.FormatInt(cl.ID, 10), cl.RateLimit, time.Now()) {
		w.Header().Set("Retry-After", "1")
		WriteProblem(w, permit.ECodeRateLimited, "too many requests for this client; slow down")
		return nil, false
	}
	return cl, true
}
