package permit

import "time"

// ApplicantSession is a proven applicant's short-lived session. The applicant
// holds a random bearer token; the store keeps only its hash.
type ApplicantSession struct {
	TokenHash      []byte
	PersonID       int64
	DocType        DocumentType
	DocNumber      string
	Nonce          string // current proof-of-possession challenge, "" if none
	NonceExpiresAt time.Time
	CreatedAt      time.Time
	ExpiresAt      time.Time
}
