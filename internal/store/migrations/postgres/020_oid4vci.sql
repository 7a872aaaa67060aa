-- OpenID4VCI pre-authorized code flow (spec/formats.md §9). An offer holds
-- the SHA-256 of its pre-authorized code and of its transaction code (the
-- code itself travels in the offer and never rests here), the credential it
-- offers and to whom, how many wrong transaction codes were tried, and, once
-- redeemed at the token endpoint, the SHA-256 of the access token. state:
-- offered → redeemed → issued, or void after too many wrong codes.
-- Keep in step with sqlite/020_oid4vci.sql.
CREATE TABLE vci_offers (
    code_hash        BYTEA   PRIMARY KEY,
    person_id        BIGINT  NOT NULL REFERENCES persons (id),
    doc_type         BIGINT  NOT NULL,
    doc_number       TEXT    NOT NULL,
    kind             INTEGER NOT NULL,
    reason           BIGINT  NOT NULL,
    channel          TEXT    NOT NULL,
    tx_code_hash     BYTEA   NOT NULL,
    tries            INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    token_hash       BYTEA   UNIQUE,
    token_expires_at BIGINT,
    credential_id    BYTEA,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL
);
CREATE INDEX vci_offers_person ON vci_offers (person_id);

-- c_nonce values of the nonce endpoint, each accepted in one credential
-- request only: consuming one is a conditional DELETE.
CREATE TABLE vci_nonces (
    nonce      TEXT    PRIMARY KEY,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX vci_nonces_expires ON vci_nonces (expires_at);
