-- Keep in step with sqlite/007_void_applications.sql: applications the
-- authority voids (their e-permit withdrawn with a leaked issuer key) do not
-- count toward the monthly quota.
ALTER TABLE applications ADD COLUMN voided_at BIGINT;
