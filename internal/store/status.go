package store

import (
	"context"

	"github.com/epermit/epermit/permit"
)

// CurrentCredentialsByKey returns the credentials the issuer key kid
// signed that are neither revoked nor expired at the transaction's time.
func (tx *Tx) CurrentCredentialsByKey(ctx context.Context, kid string) ([]permit.Credential, error) {
	return tx.credentials(ctx, credentialQuery+` WHERE c.kid = $1 AND c.expires_at > $2 AND c.state <> 'revoked'
		ORDER BY c.issued_at, c.cti`, kid, tx.now.Unix())
}

// CurrentCredentialsForPermit returns the credentials issued on applications
// for travel permit (t, number), number being the lifetime number, that are
// neither revoked nor expired at the transaction's time: the e-permits that
// stand in for that card, which a registry change to it must revoke.
func (tx *Tx) CurrentCredentialsForPermit(ctx context.Context, t permit.DocumentType, number string) ([]permit.Credential, error) {
	// Through the card's holder, so that an index finds the few rows.
	return tx.credentials(ctx, credentialQuery+` JOIN applications a ON a.id = c.application_id
		WHERE c.person_id = (SELECT person_id FROM travel_permits WHERE doc_type = $1 AND number = $2)
		AND a.doc_type = $1 AND a.doc_number = $2 AND c.state <> 'revoked' AND c.expires_at > $3
		ORDER BY c.issued_at DESC, c.cti`, t, number, tx.now.Unix())
}
