package store

import (
	"context"

	"github.com/epermit/epermit/permit"
)

// CurrentCredentialsForPermit returns the credentials issued on applications
// for travel permit (t, number), number being the lifetime number, that are
// neither revoked nor expired at the transaction's time: the e-permits that
// stand in for that card, which a registry change to it must revoke.
func (tx *Tx) CurrentCredentialsForPermit(ctx context.Context, t permit.DocumentType, number string) ([]permit.Credential, error) {
	return tx.credentials(ctx, credentialQuery+` JOIN applications a ON a.id = c.application_id
		WHERE a.doc_type = $1 AND a.doc_number = $2 AND c.state <> 'revoked' AND c.expires_at > $3
		ORDER BY c.issued_at DESC, c.cti`, t, number, tx.now.Unix())
}
