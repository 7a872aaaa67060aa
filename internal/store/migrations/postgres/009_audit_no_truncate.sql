-- Row triggers do not fire on TRUNCATE, which emptied the log past the
-- append-only trigger of 001. A statement trigger refuses it. (SQLite has no
-- TRUNCATE: its DELETE without WHERE fires the row trigger; see
-- sqlite/009_audit_no_truncate.sql.)
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
