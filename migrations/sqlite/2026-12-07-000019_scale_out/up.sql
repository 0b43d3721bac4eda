-- Scale-out (issue 20): what several instances must share even while Redis is down.

-- The WeChat access token of each app, and the lease under which one instance at a time
-- refreshes it (kv caches it in front; this row is the truth, so instances do not race
-- for a new token when Redis is unreachable). Times are milliseconds since the epoch.
CREATE TABLE wechat_access_tokens (
    appid TEXT PRIMARY KEY NOT NULL,
    token TEXT,
    refresh_at_ms BIGINT NOT NULL DEFAULT 0,
    expires_at_ms BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

-- Bind tokens: the short-lived, single-use proof that a phone just logged in to WeChat as
-- an openid we do not know yet; stored as the token's SHA-256 (never the token, never the
-- session_key). Were in kv only.
CREATE TABLE wechat_bind_tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    openid TEXT NOT NULL,
    unionid TEXT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX wechat_bind_tokens_expires ON wechat_bind_tokens (expires_at);

-- The live check-in board's log: every attendance change of an occurrence numbered in
-- commit order (the head row is locked while a number is taken), so a board that lost its
-- connection resumes after the last number it saw (SSE Last-Event-ID).
CREATE TABLE occurrence_live_heads (
    occurrence_id BIGINT PRIMARY KEY NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL
);
CREATE TABLE occurrence_live_events (
    occurrence_id BIGINT NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    -- NULL: the occurrence itself changed (held, check-in opened or closed).
    user_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (occurrence_id, seq)
);
