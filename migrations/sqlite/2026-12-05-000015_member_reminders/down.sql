DROP TABLE push_grants;
DELETE FROM push_attempts WHERE delivery_id IN (SELECT id FROM push_deliveries WHERE channel_id IS NULL);
DELETE FROM push_deliveries WHERE channel_id IS NULL;
CREATE TABLE push_deliveries_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    channel_id BIGINT NOT NULL REFERENCES push_channels (id),
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
INSERT INTO push_deliveries_old SELECT id, channel_id, org_id, purpose, dedup_key, message_id,
    parts, parts_done, status, attempts, next_at, expires_at, last_error, created_at,
    updated_at, delivered_at FROM push_deliveries;
CREATE TABLE push_attempts_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    delivery_id BIGINT NOT NULL REFERENCES push_deliveries_old (id),
    channel_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    errcode BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
INSERT INTO push_attempts_old SELECT * FROM push_attempts;
DROP TABLE push_attempts;
DROP TABLE push_deliveries;
ALTER TABLE push_deliveries_old RENAME TO push_deliveries;
ALTER TABLE push_attempts_old RENAME TO push_attempts;
CREATE INDEX push_deliveries_due ON push_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX push_deliveries_org ON push_deliveries (org_id, id);
CREATE INDEX push_deliveries_channel ON push_deliveries (channel_id, id);
CREATE INDEX push_attempts_delivery ON push_attempts (delivery_id, id);
CREATE INDEX push_attempts_channel_at ON push_attempts (channel_id, at);
