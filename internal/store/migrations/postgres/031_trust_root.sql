-- A root of trust for gates (issue 19): an offline root certifies each
-- issuer key (its document-signer certificate, with the usage period and
-- validity copied out so the signing rule needs no parsing), a key made by
-- `keys rotate` under a root waits as 'pending' until it is certified and
-- in an imported list, and the lists the root signed are kept, newest
-- served. Keep in step with sqlite/031_trust_root.sql.
ALTER TABLE issuer_keys DROP CONSTRAINT issuer_keys_state_check;
ALTER TABLE issuer_keys ADD CONSTRAINT issuer_keys_state_check CHECK (state IN ('pending', 'active', 'retired'));
ALTER TABLE issuer_keys ADD COLUMN certificate BYTEA;
ALTER TABLE issuer_keys ADD COLUMN cert_not_before BIGINT;
ALTER TABLE issuer_keys ADD COLUMN cert_not_after BIGINT;
ALTER TABLE issuer_keys ADD COLUMN usage_not_before BIGINT;
ALTER TABLE issuer_keys ADD COLUMN usage_not_after BIGINT;
ALTER TABLE issuer_keys ADD CONSTRAINT issuer_keys_certificate_times CHECK ((certificate IS NULL) = (cert_not_after IS NULL));
-- One key waits at a time: two rotations at once cannot both leave one.
CREATE UNIQUE INDEX issuer_keys_one_pending ON issuer_keys (state) WHERE state = 'pending';

-- The root certificates the serving side trusts: the first `keys certify`
-- records one, a list carrying a cross certificate (rollover) the next.
-- Exactly one is current (superseded_at NULL).
CREATE TABLE trust_roots (
    kid           TEXT   PRIMARY KEY,
    certificate   BYTEA  NOT NULL,
    added_at      BIGINT NOT NULL,
    superseded_at BIGINT
);
CREATE UNIQUE INDEX trust_roots_one_current ON trust_roots ((superseded_at IS NULL)) WHERE superseded_at IS NULL;

-- Signed trust lists imported (spec §1.2), by the root's sequence number;
-- the highest is served at /.well-known/epermit-trust-list.
CREATE TABLE trust_lists (
    seq         BIGINT PRIMARY KEY,
    document    TEXT   NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
);
