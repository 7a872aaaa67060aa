-- Fewer pages written per issuance. Every page a transaction changes is a
-- WAL frame in its commit (and a page copied at the next checkpoint), so:
--   status_entries is WITHOUT ROWID: its rows are its primary key, and a
--     rowid table kept them twice (table and key index);
--   applications.idempotency_key is unique through a partial index, so
--     that the many applications without a key (every counter issuance)
--     add no index entry.
-- SQLite cannot change these in place. The tables are rebuilt with foreign
-- keys enforced (this runs inside the migration's transaction, where they
-- cannot be turned off): credentials, the only child of the other two, is
-- set aside in a temporary table first, so no drop leaves a dangling row.

CREATE TEMP TABLE credentials_copy AS SELECT * FROM credentials;
DROP TABLE credentials;

CREATE TABLE applications_new (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    kind            INTEGER NOT NULL,
    doc_type        INTEGER NOT NULL,
    doc_number      TEXT    NOT NULL,
    reason          INTEGER NOT NULL,
    month           TEXT    NOT NULL, -- calendar month in China time, "2026-11": what the quota counts
    created_at      INTEGER NOT NULL,
    channel         TEXT    NOT NULL, -- online or counter
    idempotency_key TEXT
);
INSERT INTO applications_new SELECT id, person_id, kind, doc_type, doc_number, reason, month, created_at, channel,
    idempotency_key FROM applications;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
CREATE INDEX applications_person_month ON applications (person_id, month);
CREATE UNIQUE INDEX applications_idempotency_key ON applications (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE status_entries_new (
    list_id INTEGER NOT NULL REFERENCES status_lists (id),
    idx     INTEGER NOT NULL,
    status  INTEGER NOT NULL DEFAULT 0, -- 0 valid, 1 revoked, 2 suspended
    PRIMARY KEY (list_id, idx)
) WITHOUT ROWID;
INSERT INTO status_entries_new SELECT list_id, idx, status FROM status_entries;
DROP TABLE status_entries;
ALTER TABLE status_entries_new RENAME TO status_entries;

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
INSERT INTO credentials SELECT cti, kind, person_id, application_id, kid, issued_at, not_before, expires_at, holder_key,
    status_list, status_idx, state, state_reason, state_at, token FROM temp.credentials_copy;
DROP TABLE temp.credentials_copy;
CREATE INDEX credentials_person ON credentials (person_id, kind, state);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);
