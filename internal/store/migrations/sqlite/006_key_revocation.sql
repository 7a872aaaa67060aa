-- A leaked issuer key is revoked: withdrawn from the trust list at once, its
-- credentials revoked (epermit keys revoke). Keep in step with
-- postgres/006_key_revocation.sql.
ALTER TABLE issuer_keys ADD COLUMN revoked_at INTEGER; -- Unix seconds; NULL unless revoked
