-- OpenID4VP presentation requests of institutions (spec/formats.md §10).
-- id is the transaction id (random, in the request and response URIs);
-- state: pending → answered or declined, once, by a conditional UPDATE.
-- result is the verified outcome as JSON (the disclosed claims, the
-- credential's metadata), set when answered.
-- Keep in step with postgres/021_presentations.sql.
CREATE TABLE vp_requests (
    id          TEXT    PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id),
    purpose     TEXT    NOT NULL,
    query       TEXT    NOT NULL,
    nonce       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    result      TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    answered_at INTEGER
);
CREATE INDEX vp_requests_client ON vp_requests (client_id);
