-- A root of trust for gates (issue 19): an offline root certifies each
-- issuer key (its document-signer certificate, with the usage period and
-- validity copied out so the signing rule needs no parsing), a key made by
-- `keys rotate` under a root waits as 'pending' until it is certified and
-- in an imported list, and the lists the root signed are kept, newest
-- served. Keep in step with postgres/031_trust_root.sql.
--
-- SQLite cannot widen the state CHECK in place, so issuer_keys is rebuilt.
-- credentials refers to it and foreign keys stay on inside the migration's
-- transaction: defer_foreign_keys (reset at commit) lets the drop leave
-- credentials dangling until the rows are back, which the commit checks;
-- only the small key table is copied, not credentials.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE issuer_keys_copy AS SELECT * FROM issuer_keys;
DROP TABLE issuer_keys;
CREATE TABLE issuer_keys (
    kid              TEXT    PRIMARY KEY,
    key_ref          TEXT    NOT NULL, -- where the private key lives: file:… or pkcs11:…
    public_key       BLOB    NOT NULL, -- DER SubjectPublicKeyInfo
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    created_at       INTEGER NOT NULL, -- Unix seconds
    retired_at       INTEGER,
    revoked_at       INTEGER,          -- NULL unless revoked
    certificate      BLOB,             -- DER document-signer certificate; NULL until certified
    cert_not_before  INTEGER,          -- the certificate's validity and privateKeyUsagePeriod,
    cert_not_after   INTEGER,          -- Unix seconds, set with it
    usage_not_before INTEGER,
    usage_not_after  INTEGER,
    CHECK ((certificate IS NULL) = (cert_not_after IS NULL))
);
INSERT INTO issuer_keys (kid, key_ref, public_key, state, created_at, retired_at, revoked_at)
    SELECT kid, key_ref, public_key, state, created_at, retired_at, revoked_at FROM temp.issuer_keys_copy;
DROP TABLE temp.issuer_keys_copy;
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys (state) WHERE state = 'active';
-- One key waits at a time: two rotations at once cannot both leave one.
CREATE UNIQUE INDEX issuer_keys_one_pending ON issuer_keys (state) WHERE state = 'pending';

-- The root certificates the serving side trusts: the first `keys certify`
-- records one, a list carrying a cross certificate (rollover) the next.
-- Exactly one is current (superseded_at NULL).
CREATE TABLE trust_roots (
    kid           TEXT    PRIMARY KEY, -- spec §1 kid of the root key
    certificate   BLOB    NOT NULL,    -- DER
    added_at      INTEGER NOT NULL,
    superseded_at INTEGER
);
CREATE UNIQUE INDEX trust_roots_one_current ON trust_roots ((superseded_at IS NULL)) WHERE superseded_at IS NULL;

-- Signed trust lists imported (spec §1.2), by the root's sequence number;
-- the highest is served at /.well-known/epermit-trust-list.
CREATE TABLE trust_lists (
    seq         INTEGER PRIMARY KEY,
    document    TEXT    NOT NULL, -- the JWS compact serialization as the root signed it
    issued_at   INTEGER NOT NULL, -- iat
    expires_at  INTEGER NOT NULL, -- exp: the next update is due before
    imported_at INTEGER NOT NULL
);
