-- At most one unrevoked linkage proof per person and holder key: a re-issue
-- supersedes the one before, and no race can leave several from one device.
-- Older duplicates were superseded (and audited) just before this ran; see
-- migrate.go. Keep in step with postgres/008_linkage_current.sql.
CREATE UNIQUE INDEX credentials_linkage_current ON credentials (person_id, holder_key)
    WHERE kind = 10 AND state <> 'revoked';
