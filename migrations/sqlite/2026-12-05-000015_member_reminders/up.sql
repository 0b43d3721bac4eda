-- Reminders to members (WeChat subscription messages) go through the same outbox as the
-- channels' messages: a delivery goes to a channel (channel_id) or, with no channel, to the
-- member its one part names (a WeChat subscription message). SQLite cannot drop NOT NULL in place, so push_deliveries and
-- push_attempts are rebuilt (the new push_attempts references the new push_deliveries,
-- whose rename carries the reference along), keeping every row and id.
CREATE TABLE push_deliveries_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    channel_id BIGINT REFERENCES push_channels (id),
    org_id BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    parts TEXT NOT NULL,
    parts_done INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
INSERT INTO push_deliveries_new (id, channel_id, org_id, purpose, dedup_key, message_id, parts,
    parts_done, status, attempts, next_at, expires_at, last_error, created_at, updated_at,
    delivered_at)
SELECT id, channel_id, org_id, purpose, dedup_key, message_id, parts, parts_done, status,
    attempts, next_at, expires_at, last_error, created_at, updated_at, delivered_at
FROM push_deliveries;

CREATE TABLE push_attempts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    delivery_id BIGINT NOT NULL REFERENCES push_deliveries_new (id),
    channel_id BIGINT,
    part INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    errcode BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
INSERT INTO push_attempts_new (id, delivery_id, channel_id, part, at, outcome, http_status,
    errcode, error, duration_ms)
SELECT id, delivery_id, channel_id, part, at, outcome, http_status, errcode, error, duration_ms
FROM push_attempts;

DROP TABLE push_attempts;
DROP TABLE push_deliveries;
ALTER TABLE push_deliveries_new RENAME TO push_deliveries;
ALTER TABLE push_attempts_new RENAME TO push_attempts;
CREATE INDEX push_deliveries_due ON push_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX push_deliveries_org ON push_deliveries (org_id, id);
CREATE INDEX push_deliveries_channel ON push_deliveries (channel_id, id);
CREATE INDEX push_attempts_delivery ON push_attempts (delivery_id, id);
CREATE INDEX push_attempts_channel_at ON push_attempts (channel_id, at);

-- One-time WeChat subscription grants a member gave on the phone
-- (wx.requestSubscribeMessage), per template: each allows exactly one message. Spent in
-- the transaction that writes the reminder.
CREATE TABLE push_grants (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    template_id TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, template_id)
);
