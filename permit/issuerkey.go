package permit

import "time"

// Issuer key states. A revoked key is a retired one withdrawn because it
// leaked (RevokedAt set); the database records it as retired. A pending
// key exists only under a root of trust (docs/keys.md): `keys rotate` makes
// it, `keys activate` makes it the active one once it is certified.
const (
	KeyPending = "pending" // made under a root, not yet certified and listed: signs nothing
	KeyActive  = "active"
	KeyRetired = "retired"
	KeyRevoked = "revoked"
)

// IssuerKey is the metadata of an issuer signing key. The private key itself
// never enters the database: Ref says where the key store keeps it.
type IssuerKey struct {
	Kid       string
	Ref       string // "file:…" or "pkcs11:…"
	PublicKey []byte // DER SubjectPublicKeyInfo
	State     string
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
	RevokedAt time.Time // zero unless revoked
	// LastExpiry is when the last credential the key signed expires (zero if
	// it signed none): a retired key is published until then.
	LastExpiry time.Time
	// Certificate is the key's DER document-signer certificate from the
	// authority's root (nil until certified); the times are its validity
	// and privateKeyUsagePeriod, read from it when it was recorded.
	Certificate                   []byte
	CertNotBefore, CertNotAfter   time.Time
	UsageNotBefore, UsageNotAfter time.Time
}
