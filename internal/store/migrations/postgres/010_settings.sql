-- What `epermit init` records for every command and replica: the public
-- and status URL bases and the issuer id written into credentials, and
-- where new issuer keys are made (a key reference location, never a PIN).
-- Keep in step with sqlite/010_settings.sql.
CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
