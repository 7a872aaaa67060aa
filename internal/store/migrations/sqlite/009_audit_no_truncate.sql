-- Keeps the engines' versions in step with postgres/009_audit_no_truncate.sql.
-- SQLite has no TRUNCATE: "DELETE FROM audit_events" fires the row trigger
-- audit_events_no_delete of 001 (the truncate optimization is off for a
-- table with triggers), so nothing changes here.
SELECT 1;
