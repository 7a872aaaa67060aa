-- Keep in step with sqlite/003_issuance_pages.sql. PostgreSQL has no
-- WITHOUT ROWID (its tables are heaps either way); what carries over is the
-- partial unique index, so that applications without an idempotency key
-- (every counter issuance) add no index entry.
ALTER TABLE applications DROP CONSTRAINT applications_idempotency_key_key;
CREATE UNIQUE INDEX applications_idempotency_key ON applications (idempotency_key) WHERE idempotency_key IS NOT NULL;
