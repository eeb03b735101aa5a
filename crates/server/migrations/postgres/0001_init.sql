-- Identity of the organisation and its credentials. Timestamps are epoch milliseconds.
CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL
);

CREATE TABLE enroll_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'observer')),
    token_hash  TEXT NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL,
    revoked_ms  BIGINT
);

CREATE TABLE machines (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    fingerprint   TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    facts         TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_ms   BIGINT NOT NULL,
    last_seen_ms  BIGINT,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    latest_ts_ms  BIGINT,
    latest        TEXT,
    UNIQUE (org_id, fingerprint)
);
CREATE INDEX machines_org ON machines (org_id);

-- Raw samples: one wide row per report, narrow rows per filesystem / disk / interface.
-- No foreign keys here: they would cost a lookup per inserted row; deleting a machine
-- deletes its samples explicitly.
CREATE TABLE metrics_raw (
    machine_id           TEXT NOT NULL,
    seq                  BIGINT NOT NULL,
    ts_ms                BIGINT NOT NULL,
    cpu_percent          DOUBLE PRECISION NOT NULL,
    load1                DOUBLE PRECISION,
    load5                DOUBLE PRECISION,
    load15               DOUBLE PRECISION,
    mem_used_percent     DOUBLE PRECISION NOT NULL,
    mem_used_bytes       DOUBLE PRECISION NOT NULL,
    mem_available_bytes  DOUBLE PRECISION NOT NULL,
    swap_used_percent    DOUBLE PRECISION NOT NULL,
    cpu_temp_c           DOUBLE PRECISION,
    uptime_s             DOUBLE PRECISION NOT NULL,
    -- Ingest is idempotent on this key.
    PRIMARY KEY (machine_id, seq)
);
CREATE INDEX metrics_raw_ts ON metrics_raw (machine_id, ts_ms);
CREATE INDEX metrics_raw_age ON metrics_raw (ts_ms);

-- Per-instance samples (filesystem, disk, interface) in one table, keyed so that all the
-- rows of one report are adjacent: one page written per report instead of one per kind.
-- v1…v6 are the kind's figures, in the order of the metric catalog (store/catalog.rs).
CREATE TABLE instance_raw (
    machine_id  TEXT NOT NULL,
    ts_ms       BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('fs', 'disk', 'net')),
    instance    TEXT NOT NULL,
    v1          DOUBLE PRECISION,
    v2          DOUBLE PRECISION,
    v3          DOUBLE PRECISION,
    v4          DOUBLE PRECISION,
    v5          DOUBLE PRECISION,
    v6          DOUBLE PRECISION,
    PRIMARY KEY (machine_id, ts_ms, kind, instance)
);
CREATE INDEX instance_raw_age ON instance_raw (ts_ms);

-- Rollups: min / max / sum / count per bucket, so coarser tiers and averages compose exactly.
CREATE TABLE rollup_5m (
    machine_id  TEXT NOT NULL,
    metric      TEXT NOT NULL,
    instance    TEXT NOT NULL,
    bucket_ms   BIGINT NOT NULL,
    min_v       DOUBLE PRECISION NOT NULL,
    max_v       DOUBLE PRECISION NOT NULL,
    sum_v       DOUBLE PRECISION NOT NULL,
    count_v     BIGINT NOT NULL,
    PRIMARY KEY (machine_id, metric, instance, bucket_ms)
);
CREATE INDEX rollup_5m_age ON rollup_5m (bucket_ms);

CREATE TABLE rollup_1h (
    machine_id  TEXT NOT NULL,
    metric      TEXT NOT NULL,
    instance    TEXT NOT NULL,
    bucket_ms   BIGINT NOT NULL,
    min_v       DOUBLE PRECISION NOT NULL,
    max_v       DOUBLE PRECISION NOT NULL,
    sum_v       DOUBLE PRECISION NOT NULL,
    count_v     BIGINT NOT NULL,
    PRIMARY KEY (machine_id, metric, instance, bucket_ms)
);
CREATE INDEX rollup_1h_age ON rollup_1h (bucket_ms);

-- Everything before `done_until_ms` is rolled up. Late (backfilled) samples move it back.
CREATE TABLE rollup_state (
    tier           TEXT PRIMARY KEY,
    done_until_ms  BIGINT NOT NULL
);
INSERT INTO rollup_state (tier, done_until_ms) VALUES ('5m', 0), ('1h', 0);
