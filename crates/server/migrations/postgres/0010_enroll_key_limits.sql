-- Enrollment keys that expire or serve a limited number of enrollments (one machine each).
ALTER TABLE enroll_keys ADD COLUMN expires_ms BIGINT;
ALTER TABLE enroll_keys ADD COLUMN max_uses BIGINT;
ALTER TABLE enroll_keys ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;

-- The token a machine held before it last enrolled again: it still proves the machine's
-- identity for enrolling again (an agent that never got the reply to its re-enrollment).
ALTER TABLE machines ADD COLUMN prev_token_hash TEXT;
