-- Keep in step with sqlite/008_linkage_current.sql: at most one unrevoked
-- linkage proof per person and holder key.
CREATE UNIQUE INDEX credentials_linkage_current ON credentials (person_id, holder_key)
    WHERE kind = 10 AND state <> 'revoked';
