-- Keep in step with sqlite/006_key_revocation.sql: a revoked issuer key is
-- withdrawn from the trust list at once and its credentials revoked.
ALTER TABLE issuer_keys ADD COLUMN revoked_at BIGINT;
