-- A client's own rate limit in requests per second, for a verifier,
-- institution or officer tool that needs more (or less) than the server's
-- per-client default; NULL means the default. Keep in step with
-- postgres/030_client_rate.sql.
ALTER TABLE clients ADD COLUMN rate_limit REAL CHECK (rate_limit IS NULL OR rate_limit > 0);
