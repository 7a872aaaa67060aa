-- The entries of a status list that are not 0 (valid): the only ones
-- signing a list reads (LoadStatusList), about 2% of a full list's rows.
-- Without it every allocated entry of the list is read to find them.
-- status is in the index so the read never visits the table.
-- Keep in step with postgres/032_status_set_entries.sql.
CREATE INDEX status_entries_set ON status_entries (list_id, idx, status) WHERE status <> 0;
