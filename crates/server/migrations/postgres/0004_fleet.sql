-- Fleet organisation: groups, labels, lifecycle, status and health.
ALTER TABLE machines ADD COLUMN display_name TEXT;
ALTER TABLE machines ADD COLUMN notes TEXT NOT NULL DEFAULT '';
-- JSON objects: labels set through the API, and those the agent declares (read-only).
ALTER TABLE machines ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE machines ADD COLUMN agent_labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE machines ADD COLUMN decommissioned_ms BIGINT;
ALTER TABLE machines ADD COLUMN status TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE machines ADD COLUMN status_since_ms BIGINT;
-- NULL until the first report; reasons as a JSON array of {reason, weight}.
ALTER TABLE machines ADD COLUMN health_score BIGINT;
ALTER TABLE machines ADD COLUMN health_reasons TEXT NOT NULL DEFAULT '[]';
-- The interval the machine was last told to report at, seconds.
ALTER TABLE machines ADD COLUMN interval_s BIGINT NOT NULL DEFAULT 60;
-- The address the last report came from.
ALTER TABLE machines ADD COLUMN last_ip TEXT;
CREATE INDEX machines_liveness ON machines (status, last_seen_ms);

-- The score at each report, served as the `health.score` series.
ALTER TABLE metrics_raw ADD COLUMN health_score DOUBLE PRECISION;

-- Per-organisation fleet settings.
ALTER TABLE orgs ADD COLUMN offline_after_intervals BIGINT NOT NULL DEFAULT 3;
ALTER TABLE orgs ADD COLUMN degraded_below_score BIGINT NOT NULL DEFAULT 80;

CREATE TABLE groups (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    color        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_ms   BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE machine_groups (
    machine_id  TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (machine_id, group_id)
);
CREATE INDEX machine_groups_group ON machine_groups (group_id);

-- Every status change of a machine, with its time and the score then.
CREATE TABLE status_log (
    machine_id  TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    ts_ms       BIGINT NOT NULL,
    status      TEXT NOT NULL,
    score       BIGINT NOT NULL
);
CREATE INDEX status_log_machine ON status_log (machine_id, ts_ms);
