package permit

import "time"

// Client roles: who calls the API with a personal key.
const (
	RoleVerifier    = "verifier"    // airlines, railways, gates: online verification
	RoleInstitution = "institution" // banks, telecoms: the linkage check
	RoleOfficer     = "officer"     // category officer or admin
)

// Client is a relying party or officer that calls the API with its own key.
// Only the key's hash is kept.
type Client struct {
	ID         int64
	Role       string
	Name       string
	Category   string
	KeyHash    []byte
	KeyPrefix  string
	DisabledAt time.Time // zero while enabled
	CreatedAt  time.Time
	// RateLimit is the client's own limit in requests per second, set by
	// an operator for a client that needs more than the server's
	// per-client default; 0 means that default.
	RateLimit float64
}

// Disabled reports whether the client was disabled.
func (c *Client) Disabled() bool { return !c.DisabledAt.IsZero() }
