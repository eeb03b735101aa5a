-- Signed agent releases and their rollout per organisation.

-- The public keys a release must be signed by (minisign, Ed25519). Added on the server's
-- host with `optralis release trust`; the secret keys never come here.
CREATE TABLE release_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    added_ms    BIGINT NOT NULL
);

-- Releases are platform-wide: every organisation may roll them out. The file is kept here
-- so that every replica serves the same bytes.
CREATE TABLE agent_releases (
    platform      TEXT NOT NULL,
    version       TEXT NOT NULL,
    serial        BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    signature     TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    file          BYTEA NOT NULL,
    published_ms  BIGINT NOT NULL,
    PRIMARY KEY (platform, version)
);

-- One rollout runs per organisation at a time; its machines were resolved from its scope
-- when it was made.
CREATE TABLE rollouts (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    version               TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    canary_count          BIGINT NOT NULL,
    halt_failure_percent  BIGINT NOT NULL,
    health_window_s       BIGINT NOT NULL,
    -- Failures an admin accepted by resuming after a halt: the threshold counts the others.
    failures_accepted     BIGINT NOT NULL DEFAULT 0,
    state                 TEXT NOT NULL,
    reason                TEXT,
    created_ms            BIGINT NOT NULL,
    updated_ms            BIGINT NOT NULL
);
CREATE INDEX rollouts_org ON rollouts (org_id, created_ms);

-- Each machine of a rollout: state is NULL until it is offered the release.
CREATE TABLE rollout_machines (
    rollout_id  TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
    machine_id  TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    canary      BOOLEAN NOT NULL,
    state       TEXT,
    reason      TEXT,
    updated_ms  BIGINT,
    PRIMARY KEY (rollout_id, machine_id)
);
CREATE INDEX rollout_machines_machine ON rollout_machines (machine_id);
-- What each report batch of a running rollout asks: its canaries still out, its updates
-- silent past the health window.
CREATE INDEX rollout_machines_progress ON rollout_machines (rollout_id, canary, state, updated_ms);
CREATE INDEX rollout_machines_stale ON rollout_machines (rollout_id, state, updated_ms);
