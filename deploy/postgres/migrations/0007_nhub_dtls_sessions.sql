-- DTLS sessions kept outside the gateways (docs/stateless-gateway.md, "Session store"), written by the gateways
-- themselves: one row per established session with a Connection ID, keyed by the CID the device writes in every
-- record (RFC 9146 §3), so that a gateway receiving a record it holds no session for finds it with one indexed read.
--   secrets: the key block (RFC 5246 §6.3), AES-256-GCM under a key derived from Security:MasterKey, bound to the
--            CID and the session key (a ciphertext copied to another row does not decrypt)
--   owner, lease: the gateway process holding the session and its copy's lease; NULL after a graceful release
--   write_sequence_limit: exclusive end of the epoch-1 write sequence numbers handed out; never decreases
--            (docs/dtls-sequence-reservation.md)
--   replay_top, replay_window: the receive window (RFC 6347 §4.1.2.6) at the owner's last checkpoint
CREATE TABLE nhub_dtls_sessions (
    connection_id        bytea       NOT NULL PRIMARY KEY,
    session_key          text        NOT NULL,
    device_id            text        NOT NULL,
    psk_identity         text        NOT NULL,
    cipher_suite         integer     NOT NULL,
    encrypt_then_mac     boolean     NOT NULL,
    secrets              bytea       NOT NULL,
    send_connection_id   bytea,
    established_at       timestamptz NOT NULL,
    owner                uuid,
    lease                uuid,
    write_sequence_limit bigint      NOT NULL CHECK (write_sequence_limit >= 0),
    replay_top           bigint      NOT NULL,
    replay_window        bigint      NOT NULL,
    expires_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);

-- A device keeps its newest few; revocation erases a credential's sessions (by device, then identity), deletion a
-- device's. The only index besides the key: each one is written by every handshake. The sweep of expired rows, every
-- few minutes, reads the table instead.
CREATE INDEX nhub_dtls_sessions_device ON nhub_dtls_sessions (device_id, established_at DESC);

-- Credentials revoked (and devices deleted), as the twin records them when it erases their sessions, with the
-- database's clock. A handshake that looked its key up before the revocation can still write its row after the
-- erase; a takeover refuses every session of an identity established up to a minute after its revocation (handshake
-- time and the gateways' clock skew), so such a row is never used, and no takeover has to ask a grain. Swept a day
-- after the revocation.
CREATE TABLE nhub_revoked_credentials (
    psk_identity text        NOT NULL PRIMARY KEY,
    revoked_at   timestamptz NOT NULL
);
