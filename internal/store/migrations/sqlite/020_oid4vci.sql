-- OpenID4VCI pre-authorized code flow (spec/formats.md §9). An offer holds
-- the SHA-256 of its pre-authorized code and of its transaction code (the
-- code itself travels in the offer and never rests here), the credential it
-- offers and to whom, how many wrong transaction codes were tried, and, once
-- redeemed at the token endpoint, the SHA-256 of the access token. state:
-- offered → redeemed → issued, or void after too many wrong codes.
-- Keep in step with postgres/020_oid4vci.sql.
CREATE TABLE vci_offers (
    code_hash        BLOB    PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES persons (id),
    doc_type         INTEGER NOT NULL,
    doc_number       TEXT    NOT NULL,
    kind             INTEGER NOT NULL,
    reason           INTEGER NOT NULL,
    channel          TEXT    NOT NULL,
    tx_code_hash     BLOB    NOT NULL,
    tries            INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    token_hash       BLOB    UNIQUE,
    token_expires_at INTEGER,
    credential_id    BLOB,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
CREATE INDEX vci_offers_person ON vci_offers (person_id);

-- c_nonce values of the nonce endpoint, each accepted in one credential
-- request only: consuming one is a conditional DELETE.
CREATE TABLE vci_nonces (
    nonce      TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX vci_nonces_expires ON vci_nonces (expires_at);
