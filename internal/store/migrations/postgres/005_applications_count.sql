-- One index fewer for every issuance to write (each is a page in the
-- commit): the monthly count of a person's applications goes through
-- credentials_person instead, since every application has its credential,
-- written in the same transaction. Keep in step with
-- sqlite/005_applications_count.sql.
DROP INDEX applications_person_month;
