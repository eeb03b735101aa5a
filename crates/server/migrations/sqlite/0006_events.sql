-- System events (journald, Windows Event Log) as agents send them, identical entries folded
-- into one row with a count and their first and last time. (machine_id, seq, idx) is the
-- event's place in its report, so a replayed report adds nothing.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    org_id      TEXT NOT NULL,
    machine_id  TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    idx         BIGINT NOT NULL,
    ts_ms       BIGINT NOT NULL,
    last_ts_ms  BIGINT NOT NULL,
    -- 1 warning, 2 error, 3 critical: "at least" filters compare numbers.
    severity    SMALLINT NOT NULL,
    source      TEXT NOT NULL,
    message     TEXT NOT NULL,
    count       BIGINT NOT NULL,
    boot_id     TEXT,
    log         TEXT,
    event_id    BIGINT,
    UNIQUE (machine_id, seq, idx)
);
CREATE INDEX events_org_time ON events (org_id, ts_ms);
CREATE INDEX events_machine_time ON events (machine_id, ts_ms);

-- What the agent said about its event source on its newest report.
ALTER TABLE machines ADD COLUMN events_source TEXT;
ALTER TABLE machines ADD COLUMN events_unavailable TEXT;
ALTER TABLE machines ADD COLUMN events_suppressed_total BIGINT NOT NULL DEFAULT 0;
