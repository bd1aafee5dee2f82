-- What the operators' fleet page filters and counts on, kept in the registry by the device grains so that a page of
-- 100,000 devices is one indexed query and no grain is activated.
--   transport: the last message's transport (DeviceTransport: 0 never seen, 1 coap, 2 coaps)
--   pending_commands: commands queued or sent, not yet delivered
--   firmware_downloading: the firmware version being downloaded; null when no download is in progress
ALTER TABLE nhub_devices
    ADD COLUMN transport            smallint NOT NULL DEFAULT 0,
    ADD COLUMN pending_commands     integer  NOT NULL DEFAULT 0,
    ADD COLUMN firmware_downloading text;

-- Id prefix filter (LIKE 'prefix%' needs the pattern operator class under a non-C collation).
CREATE INDEX nhub_devices_id_prefix ON nhub_devices (device_id text_pattern_ops);
-- "Recently seen" ordering.
CREATE INDEX nhub_devices_last_seen ON nhub_devices (last_seen DESC NULLS LAST, device_id);
-- The two small subsets the page lists on their own.
CREATE INDEX nhub_devices_pending ON nhub_devices (device_id) WHERE pending_commands > 0;
CREATE INDEX nhub_devices_firmware ON nhub_devices (device_id) WHERE firmware_downloading IS NOT NULL;
