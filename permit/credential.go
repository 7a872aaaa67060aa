package permit

import "time"

// Kind is a kind of credential the authority issues. Kinds 1 and 2 are the
// values of the e-permit's "kind" field (spec/formats.md §2).
type Kind int

// The credential kinds.
const (
	TemporaryEPermit Kind = 1  // 7-day temporary e-permit, today's policy
	ElectronicPermit Kind = 2  // long-lived electronic permit: reserved for a future policy
	LinkageProofKind Kind = 10 // SD-JWT VC linking a travel and a residence permit; never in a CWT
)

// CredentialState is where a credential is in its life. Expiry is not a
// state: it follows from the credential's times.
type CredentialState string

// Credential states. A suspended credential may be reinstated; a revoked one
// never comes back.
const (
	CredentialActive    CredentialState = "active"
	CredentialSuspended CredentialState = "suspended"
	CredentialRevoked   CredentialState = "revoked"
)

// Credential is the authority's record of an issued credential.
type Credential struct {
	ID            []byte // the 16-byte cti
	Kind          Kind
	PersonID      int64
	ApplicationID int64 // 0 when not issued through an application
	KeyID         string
	IssuedAt      time.Time
	NotBefore     time.Time
	ExpiresAt     time.Time
	HolderKey     []byte // DER SubjectPublicKeyInfo of the holder's device key
	StatusList    int64
	StatusIndex   int64
	State         CredentialState
	StateReason   string
	StateAt       time.Time // zero while the credential was never changed
	Token         []byte    // the signed credential exactly as issued
}

// LinkageSupersedes returns the ids of the linkage proofs a new proof for
// the same person and holder key replaces: every one of existing (the
// person's linkage proofs) that is not revoked, expired or not, and is
// bound to holderKey (DER). At most one linkage proof per person and holder
// key is current, so a re-issue (or a flood of them) never leaves several
// live proofs from one device; proofs for other devices stay.
func LinkageSupersedes(existing []Credential, holderKey []byte) [][]byte {
	var out [][]byte
	for _, c := range existing {
		if c.Kind == LinkageProofKind && c.State != CredentialRevoked && string(c.HolderKey) == string(holderKey) {
			out = append(out, c.ID)
		}
	}
	return out
}

// Channel is how an application reached the authority.
type Channel string

// Application channels.
const (
	ChannelOnline  Channel = "online"  // the applicant's phone
	ChannelCounter Channel = "counter" // an officer at an exit-entry office
)

// Application is a request for a credential. Applications are what the
// monthly quota counts.
type Application struct {
	ID             int64
	PersonID       int64
	Kind           Kind
	DocumentType   DocumentType
	DocumentNumber string
	Reason         int
	Month          string // calendar month in China time, "2026-11"
	CreatedAt      time.Time
	Channel        Channel
	IdempotencyKey string // empty when the client gave none
}
