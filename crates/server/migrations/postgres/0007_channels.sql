-- Where notifications go. The whole configuration (webhook URLs, SMTP passwords) is sealed
-- with the server's secret key (AES-256-GCM); only what is safe to show is kept in clear.
CREATE TABLE channels (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    sealed_config   TEXT NOT NULL,
    -- The configuration with its secrets masked, as the API shows it (JSON).
    shown_config    TEXT NOT NULL,
    min_severity    TEXT NOT NULL,
    -- JSON array of alert kinds; empty: every kind.
    alert_kinds     TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    created_ms      BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- The delivery queue and its log: one row per message to one channel. Rows wait as
-- 'pending' until next_attempt_ms; a worker leases one ('sending' until lease_until_ms), and
-- marks it 'delivered' or, after its last attempt, 'failed'. A lease that expires (a crash
-- mid-send) makes the row due again.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    -- The channel-independent message (JSON), rendered for the channel when sent.
    notification    TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    lease_until_ms  BIGINT,
    last_error      TEXT,
    created_ms      BIGINT NOT NULL,
    delivered_ms    BIGINT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
CREATE INDEX deliveries_org ON deliveries (org_id, created_ms);

-- The language of the organisation's notifications: 'en' or 'fr'.
ALTER TABLE orgs ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
