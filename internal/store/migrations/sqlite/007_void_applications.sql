-- Applications the authority voids do not count toward the monthly quota:
-- those whose e-permit it withdrew with a leaked issuer key (epermit keys
-- revoke). Keep in step with postgres/007_void_applications.sql.
ALTER TABLE applications ADD COLUMN voided_at INTEGER; -- Unix seconds; NULL unless voided
