package audit

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Coverage checks the log against the facts the store shows, the other way
// round from Verifier: every credential, revocation, suspension and API
// client change visible in the store must have its event. A log shorter
// than the facts (truncated, or cut short with its head rewound) is
// tampering the chain alone cannot see.
//
// Feed it every event with Add, then every fact with Credential and
// Client; Err reports what has no event.
type Coverage struct {
	actions map[string]map[string]bool // subject → actions seen
	keys    map[string]map[string]bool // client subject → key prefixes its events name
	facts   Facts
	missing []string
	nMiss   int
}

// Facts counts what Coverage checked.
type Facts struct {
	Credentials int // issued credentials (credential.issue, linkage.issue)
	Revoked     int // revoked ones (credential.revoke, .supersede, .cancel)
	Suspended   int // suspended ones (credential.suspend)
	Clients     int // API clients (ROLE.add, the current key's ROLE.add or .rotate_key)
	Disabled    int // disabled clients (ROLE.disable)
}

// String says what was checked, for `epermit audit verify`.
func (f Facts) String() string {
	return fmt.Sprintf("%d credentials issued, %d revoked, %d suspended, %d API clients (%d disabled)",
		f.Credentials, f.Revoked, f.Suspended, f.Clients, f.Disabled)
}

// NewCoverage returns an empty Coverage.
func NewCoverage() *Coverage {
	return &Coverage{actions: map[string]map[string]bool{}, keys: map[string]map[string]bool{}}
}

var clientRoles = []string{"verifier", "institution", "officer"}

// Add records an event read from the log. Only events about credentials
// and clients are kept.
func (c *Coverage) Add(e *Event) {
	kind, _, _ := strings.Cut(e.Subject, ":")
	client := false
	for _, r := range clientRoles {
		client = client || kind == r
	}
	if kind != "cti" && !client {
		return
	}
	if c.actions[e.Subject] == nil {
		c.actions[e.Subject] = map[string]bool{}
	}
	c.actions[e.Subject][e.Action] = true
	if client && len(e.Details) > 0 {
		var d struct {
			Key string `json:"key"`
		}
		if json.Unmarshal(e.Details, &d) == nil && d.Key != "" {
			if c.keys[e.Subject] == nil {
				c.keys[e.Subject] = map[string]bool{}
			}
			c.keys[e.Subject][d.Key] = true
		}
	}
}

// has reports whether subject has one of the actions.
func (c *Coverage) has(subject string, actions ...string) bool {
	for _, a := range actions {
		if c.actions[subject][a] {
			return true
		}
	}
	return false
}

func (c *Coverage) miss(format string, args ...any) {
	c.nMiss++
	if len(c.missing) < 5 {
		c.missing = append(c.missing, fmt.Sprintf(format, args...))
	}
}

// Credential checks a credential the store holds, in state "active",
// "suspended" or "revoked".
func (c *Coverage) Credential(cti []byte, state string) {
	s := "cti:" + hex.EncodeToString(cti)
	c.facts.Credentials++
	if !c.has(s, "credential.issue", "linkage.issue") {
		c.miss("credential %s has no issue event", s)
	}
	switch state {
	case "revoked":
		c.facts.Revoked++
		if !c.has(s, "credential.revoke", "credential.supersede", "credential.cancel") {
			c.miss("revoked credential %s has no revoke, supersede or cancel event", s)
		}
	case "suspended":
		c.facts.Suspended++
		if !c.has(s, "credential.suspend") {
			c.miss("suspended credential %s has no suspend event", s)
		}
	}
}

// Client checks an API client the store holds: role, name, the prefix of
// its current key and whether it is disabled.
func (c *Coverage) Client(role, name, keyPrefix string, disabled bool) {
	s := role + ":" + name
	c.facts.Clients++
	if !c.has(s, role+".add") {
		c.miss("client %s has no %s.add event", s, role)
	} else if !c.keys[s][keyPrefix] {
		c.miss("client %s's current key %s… has no add or rotate_key event", s, keyPrefix)
	}
	if disabled {
		c.facts.Disabled++
		if !c.has(s, role+".disable") {
			c.miss("disabled client %s has no %s.disable event", s, role)
		}
	}
}

// Facts returns the counts of what was checked.
func (c *Coverage) Facts() Facts { return c.facts }

// Err returns a *Missing when some fact had no event, nil otherwise.
func (c *Coverage) Err() error {
	if c.nMiss == 0 {
		return nil
	}
	return &Missing{Count: c.nMiss, First: c.missing}
}

// Missing reports facts in the store that the log does not record: the log
// is shorter than the facts, so events were removed.
type Missing struct {
	Count int      // how many facts lack their event
	First []string // the first few, in words
}

func (m *Missing) Error() string {
	more := ""
	if m.Count > len(m.First) {
		more = fmt.Sprintf("; and %d more", m.Count-len(m.First))
	}
	return fmt.Sprintf("the log is shorter than the store's facts (events removed): %d facts have no event: %s%s",
		m.Count, strings.Join(m.First, "; "), more)
}

// Report is the outcome of a whole check: the head reached, to record as
// an anchor, and the facts cross-checked against the log.
type Report struct {
	Head  Anchor
	Facts Facts
}
