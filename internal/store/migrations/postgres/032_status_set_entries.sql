-- The entries of a status list that are not 0 (valid): the only ones
-- signing a list reads (LoadStatusList), about 2% of a full list's rows.
-- Without it every allocated entry of the list is read to find them.
-- status is included so the read can be an index-only scan.
-- Keep in step with sqlite/032_status_set_entries.sql.
CREATE INDEX status_entries_set ON status_entries (list_id, idx) INCLUDE (status) WHERE status <> 0;
