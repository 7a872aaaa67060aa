-- Parties that call the API with a key of their own: verifiers (airlines,
-- railways, …) for online verification and portraits, institutions (banks,
-- telecoms, …) for linkage checks, and officers (officer or admin) for
-- revocation and the other officer actions. Keep in step with
-- postgres/002_clients.sql.
CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('verifier', 'institution', 'officer')),
    name        TEXT    NOT NULL,
    category    TEXT    NOT NULL, -- airline, railway, …; bank, telecom, internet, transport
    key_hash    BLOB    NOT NULL UNIQUE, -- SHA-256 of the API key; the key itself is shown once
    key_prefix  TEXT    NOT NULL, -- the key's first characters, to tell keys apart in listings
    disabled_at INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (role, name)
);
