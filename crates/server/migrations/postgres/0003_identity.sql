-- Identity: users, their organisations and roles, sessions, MFA, one-time links, audit.
ALTER TABLE orgs ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    -- Stored lowercased: one account per address whatever the case it is typed in.
    email           TEXT NOT NULL UNIQUE,
    -- argon2id PHC string; NULL until the invitation is accepted.
    password_hash   TEXT,
    platform_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Base32 TOTP secret once confirmed; the pending one while enrolling.
    totp_secret     TEXT,
    totp_pending    TEXT,
    -- Last TOTP time step accepted: a code is good once.
    totp_last_step  BIGINT NOT NULL DEFAULT 0,
    created_ms      BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'observer')),
    disabled_ms  BIGINT,
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_ms    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A session is a refresh-token family: rotating keeps the session, reusing a spent token
-- revokes it.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_ms  BIGINT NOT NULL,
    used_ms     BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- One-time links: invitations and password resets.
CREATE TABLE user_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    used_ms     BIGINT
);
CREATE INDEX user_links_user ON user_links (user_id);

-- Platform-level entries (organisations created or deleted) have no organisation.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    org_id      TEXT REFERENCES orgs(id) ON DELETE CASCADE,
    ts_ms       BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    ip          TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- Server-wide secrets (the JWT signing key), shared by every replica.
CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
