-- Pushes (`src/push/`): channels an org's organizers set up (a WeCom or DingTalk group
-- robot, a signed webhook), digest schedules per channel, and the outbox: every message to
-- send is a delivery row written in the same transaction as what caused it, sent by a worker
-- that records each attempt.
CREATE TABLE push_channels (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The webhook URL (webhooks only; robots are addressed by their key or token).
    url TEXT,
    -- The credentials (robot key, access token and signing secret, webhook secret) as JSON,
    -- encrypted with DANGKE_SECRETS_KEY (XChaCha20-Poly1305, base64 of nonce + ciphertext).
    secret_sealed TEXT NOT NULL,
    -- What the API shows instead of the secret ("…3f9a").
    secret_hint TEXT NOT NULL,
    alerts BOOLEAN NOT NULL,
    -- Set when the service refused the credentials (bad key, bad signature): why, and when.
    broken_reason TEXT,
    broken_at TIMESTAMP,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX push_channels_org ON push_channels (org_id);

-- When a channel receives the digest: daily, weekly (weekday 1 = Monday … 7) or monthly (on
-- day 1–28), at a local time in the org's zone. The digest covers the period just ended.
CREATE TABLE push_schedules (
    id BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES push_channels (id),
    frequency TEXT NOT NULL,
    weekday INTEGER,
    month_day INTEGER,
    local_time TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX push_schedules_channel ON push_schedules (channel_id);

-- The outbox. dedup_key makes a message be generated once however many instances or
-- restarts try (a digest: channel + period). message_id is the stable id receivers
-- deduplicate by (Standard Webhooks `webhook-id`). parts: the JSON array of messages sent in
-- order (a digest's markdown, then its chart); parts_done counts those accepted.
CREATE TABLE push_deliveries (
    id BIGSERIAL PRIMARY KEY,
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
    -- Not delivered by then: dead (DANGKE_PUSH_GIVE_UP after it was written or retried).
    expires_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX push_deliveries_org ON push_deliveries (org_id, id);
CREATE INDEX push_deliveries_channel ON push_deliveries (channel_id, id);

-- Every attempt to send one part of a delivery, and what came back.
CREATE TABLE push_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES push_deliveries (id),
    channel_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    at TIMESTAMP NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    errcode BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX push_attempts_delivery ON push_attempts (delivery_id, id);
CREATE INDEX push_attempts_channel_at ON push_attempts (channel_id, at);
