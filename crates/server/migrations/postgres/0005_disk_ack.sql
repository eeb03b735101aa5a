-- An admin's acknowledgement of a disk warning: when, and the reasons it covered. It holds
-- while the disk's reasons stay among those; a new or changed reason (worse) lifts it.
ALTER TABLE disks ADD COLUMN ack_ms BIGINT;
ALTER TABLE disks ADD COLUMN ack_reasons TEXT;
