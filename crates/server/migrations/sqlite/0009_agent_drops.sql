-- The agent's count of reports its full buffer dropped, as of the newest report, and when it
-- last grew (an alert rule of kind "agent" fires on that).
ALTER TABLE machines ADD COLUMN dropped_total BIGINT;
ALTER TABLE machines ADD COLUMN dropped_ms BIGINT;
