-- Officer console sessions. The browser holds a random token in a cookie;
-- only its SHA-256 is kept, so a copy of the database signs nobody in.
-- A session ends at expires_at (its absolute lifetime) or when it has been
-- idle too long (last_seen_at), whichever comes first; the idle limit is
-- the authority's to apply. Keep in step with sqlite/004_officer_sessions.sql.
CREATE TABLE officer_sessions (
    token_hash   BYTEA  PRIMARY KEY,
    client_id    BIGINT NOT NULL REFERENCES clients (id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX officer_sessions_client ON officer_sessions (client_id);
