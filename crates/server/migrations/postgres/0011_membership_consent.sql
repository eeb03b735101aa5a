-- An existing account added to another organisation joins it only once it accepts (on its
-- next sign-in); until then the membership grants nothing. Memberships made so far count
-- as accepted.
ALTER TABLE memberships ADD COLUMN accepted_ms BIGINT;
UPDATE memberships SET accepted_ms = created_ms;
