-- Alert rules: the whole specification as JSON (proto::alerts::RuleSpec), its name apart
-- for uniqueness.
CREATE TABLE rules (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    spec            TEXT NOT NULL,
    created_ms      BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- One row per rule and machine each time its condition starts to hold: pending, firing,
-- then resolved (kept as history). At most one open (pending or firing) per rule and machine.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    rule_id         TEXT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    machine_id      TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    state           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    value           REAL,
    detail          TEXT NOT NULL,
    since_ms        BIGINT NOT NULL,
    fired_ms        BIGINT,
    resolved_ms     BIGINT,
    -- When the last notification (firing or reminder) was queued; NULL: none yet (pending,
    -- or silenced when it fired).
    notified_ms     BIGINT,
    acked_ms        BIGINT,
    acked_by        TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts (rule_id, machine_id) WHERE state <> 'resolved';
CREATE INDEX alerts_org ON alerts (org_id, since_ms);

-- Maintenance windows: no notification for alerts they cover while they last.
CREATE TABLE silences (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    rule_id         TEXT,
    starts_ms       BIGINT NOT NULL,
    ends_ms         BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_ms      BIGINT NOT NULL
);
CREATE INDEX silences_org ON silences (org_id, ends_ms);

-- Whether the organisation has been given the default rule set (once; it may edit them).
ALTER TABLE orgs ADD COLUMN rules_seeded BOOLEAN NOT NULL DEFAULT FALSE;
