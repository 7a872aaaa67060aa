-- epermit schema, version 1 (SQLite). Keep in step with postgres/001_init.sql:
-- the same tables and columns, engine types only differ.

CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    latin_name  TEXT    NOT NULL,
    sex         INTEGER NOT NULL,
    birth_date  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    phone       TEXT    NOT NULL,
    portrait    BLOB    NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 0 -- bumped to lock the person for a rule check
);

CREATE TABLE travel_permits (
    doc_type   INTEGER NOT NULL,
    number     TEXT    NOT NULL,
    person_id  INTEGER NOT NULL REFERENCES persons (id),
    renewal    INTEGER NOT NULL,
    issued_on  TEXT    NOT NULL,
    expires_on TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    PRIMARY KEY (doc_type, number)
);
CREATE INDEX travel_permits_person ON travel_permits (person_id);

CREATE TABLE residence_permits (
    number     TEXT    PRIMARY KEY,
    person_id  INTEGER NOT NULL UNIQUE REFERENCES persons (id),
    issued_on  TEXT    NOT NULL,
    expires_on TEXT    NOT NULL,
    status     TEXT    NOT NULL
);

CREATE TABLE issuer_keys (
    kid        TEXT    PRIMARY KEY,
    key_ref    TEXT    NOT NULL, -- where the private key lives: file:… or pkcs11:…
    public_key BLOB    NOT NULL, -- DER SubjectPublicKeyInfo
    state      TEXT    NOT NULL CHECK (state IN ('active', 'retired')),
    created_at INTEGER NOT NULL, -- Unix seconds
    retired_at INTEGER
);
-- Exactly one active signing key at a time.
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys (state) WHERE state = 'active';

CREATE TABLE status_lists (
    id         INTEGER PRIMARY KEY,
    size       INTEGER NOT NULL, -- number of 2-bit entries
    used       INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL DEFAULT 1, -- bumped on every change, so caches can tell cheaply
    created_at INTEGER NOT NULL
);

CREATE TABLE status_entries (
    list_id INTEGER NOT NULL REFERENCES status_lists (id),
    idx     INTEGER NOT NULL,
    status  INTEGER NOT NULL DEFAULT 0, -- 0 valid, 1 revoked, 2 suspended
    PRIMARY KEY (list_id, idx)
);

CREATE TABLE applications (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    kind            INTEGER NOT NULL,
    doc_type        INTEGER NOT NULL,
    doc_number      TEXT    NOT NULL,
    reason          INTEGER NOT NULL,
    month           TEXT    NOT NULL, -- calendar month in China time, "2026-11": what the quota counts
    created_at      INTEGER NOT NULL,
    channel         TEXT    NOT NULL, -- online or counter
    idempotency_key TEXT UNIQUE
);
CREATE INDEX applications_person_month ON applications (person_id, month);

CREATE TABLE credentials (
    cti            BLOB    PRIMARY KEY, -- 16 random bytes
    kind           INTEGER NOT NULL,
    person_id      INTEGER NOT NULL REFERENCES persons (id),
    application_id INTEGER REFERENCES applications (id),
    kid            TEXT    NOT NULL REFERENCES issuer_keys (kid),
    issued_at      INTEGER NOT NULL,
    not_before     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    holder_key     BLOB    NOT NULL, -- DER SubjectPublicKeyInfo of the device key
    status_list    INTEGER NOT NULL,
    status_idx     INTEGER NOT NULL,
    state          TEXT    NOT NULL, -- active, suspended, revoked
    state_reason   TEXT    NOT NULL DEFAULT '',
    state_at       INTEGER,
    token          BLOB    NOT NULL, -- the signed credential as issued
    FOREIGN KEY (status_list, status_idx) REFERENCES status_entries (list_id, idx),
    UNIQUE (status_list, status_idx)
);
CREATE INDEX credentials_person ON credentials (person_id, kind, state);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL, -- Unix microseconds
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    details   BLOB,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);

-- The chain's head: one row, locked by every append so appends are serial.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Append-only: the application never updates or deletes audit events.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Identity proofing: details match → one-time code → face check → session.
CREATE TABLE proofing_sessions (
    id              INTEGER PRIMARY KEY,
    secret_hash     BLOB    NOT NULL UNIQUE, -- SHA-256 of the bearer secret the applicant holds
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    doc_type        INTEGER NOT NULL,
    doc_number      TEXT    NOT NULL,
    state           TEXT    NOT NULL, -- code_sent, face_required, face_pending, verified, failed
    code_hash       BLOB,             -- SHA-256 of (secret, code); NULL once used
    code_expires_at INTEGER NOT NULL,
    code_tries      INTEGER NOT NULL DEFAULT 0,
    selfie          BLOB,             -- kept only while an officer review is pending
    face_note       TEXT    NOT NULL DEFAULT '',
    session_issued  INTEGER NOT NULL DEFAULT 0, -- 1 once an applicant session was handed out
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX proofing_sessions_state ON proofing_sessions (state);

-- Every proofing attempt, matched or not, for rate limits shared by replicas.
CREATE TABLE proofing_attempts (
    key TEXT    NOT NULL, -- "doc:hk:H12345678" or "client:203.0.113.7"
    at  INTEGER NOT NULL
);
CREATE INDEX proofing_attempts_key ON proofing_attempts (key, at);

CREATE TABLE applicant_sessions (
    token_hash       BLOB    PRIMARY KEY, -- SHA-256 of the bearer token
    person_id        INTEGER NOT NULL REFERENCES persons (id),
    doc_type         INTEGER NOT NULL,
    doc_number       TEXT    NOT NULL,
    nonce            TEXT,    -- for the device key's proof of possession
    nonce_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
