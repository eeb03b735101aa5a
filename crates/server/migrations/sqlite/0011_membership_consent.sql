-- An existing account added to another organisation joins it only once it accepts (on its
-- next sign-in); until then the membership grants nothing. Memberships made so far count
-- as accepted.
ALTER TABLE memberships ADD COLUMN accepted_ms BIGINT;
UPDATE memberships SET accepted_ms = created_ms;

-- An address is verified when its owner set the password through a link the server mailed
-- to it, or when the operator made the account: only then may it accept another
-- organisation's invitation (an admin who was shown an account's set-password link could
-- otherwise hold that account and accept for it). Accounts with a password so far count as
-- verified: nothing tells them apart.
ALTER TABLE users ADD COLUMN verified_ms BIGINT;
UPDATE users SET verified_ms = created_ms WHERE password_hash IS NOT NULL;
ALTER TABLE user_links ADD COLUMN mailed BOOLEAN NOT NULL DEFAULT FALSE;
