-- Disk health (S.M.A.R.T.): the current state of each disk, and its history.
ALTER TABLE machines ADD COLUMN smart_read_ms BIGINT;
ALTER TABLE machines ADD COLUMN smart_unavailable TEXT;

CREATE TABLE disks (
    machine_id     TEXT NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
    disk_key       TEXT NOT NULL,
    name           TEXT NOT NULL,
    device_type    TEXT NOT NULL,
    protocol       TEXT NOT NULL,
    model          TEXT NOT NULL,
    serial         TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    reasons        TEXT NOT NULL,
    device         TEXT NOT NULL,
    first_seen_ms  BIGINT NOT NULL,
    last_seen_ms   BIGINT NOT NULL,
    PRIMARY KEY (machine_id, disk_key)
);

CREATE TABLE disk_samples (
    machine_id       TEXT NOT NULL,
    disk_key         TEXT NOT NULL,
    ts_ms            BIGINT NOT NULL,
    verdict          TEXT NOT NULL,
    temperature_c    DOUBLE PRECISION,
    power_on_hours   DOUBLE PRECISION,
    reallocated      DOUBLE PRECISION,
    pending          DOUBLE PRECISION,
    uncorrectable    DOUBLE PRECISION,
    media_errors     DOUBLE PRECISION,
    percentage_used  DOUBLE PRECISION,
    grown_defects    DOUBLE PRECISION,
    PRIMARY KEY (machine_id, disk_key, ts_ms)
);
CREATE INDEX disk_samples_age ON disk_samples (ts_ms);
