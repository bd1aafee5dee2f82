-- NHub's own tables (not part of the Orleans contract).

-- The device registry: one row per device, kept current by the device grains, so the portal can list, page,
-- filter and search thousands of devices without activating their grains.
CREATE TABLE nhub_devices (
    device_id  text        PRIMARY KEY,
    model      text,
    serial     text,
    imei       text,
    online     boolean     NOT NULL DEFAULT false,
    last_seen  timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX nhub_devices_online ON nhub_devices (online, device_id);
CREATE INDEX nhub_devices_serial ON nhub_devices (lower(serial));
CREATE INDEX nhub_devices_imei ON nhub_devices (lower(imei));

-- Firmware images. PostgreSQL (not the NATS object store) because it is already the platform's durable store:
-- one backup, one transaction per upload, and images of a few MiB are well within bytea's comfort zone.
CREATE TABLE nhub_firmware (
    version    text        PRIMARY KEY,
    size       bigint      NOT NULL,
    sha256     text        NOT NULL,
    content    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
