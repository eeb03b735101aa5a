-- Enrollment keys that expire or serve a limited number of enrollments (one machine each).
ALTER TABLE enroll_keys ADD COLUMN expires_ms BIGINT;
ALTER TABLE enroll_keys ADD COLUMN max_uses BIGINT;
ALTER TABLE enroll_keys ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
