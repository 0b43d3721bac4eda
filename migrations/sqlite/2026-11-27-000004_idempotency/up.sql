-- Saved results of writes sent with an Idempotency-Key, scoped to (user, method, route, key).
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- 'in_progress' while the first request runs, then 'completed'.
    state TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    body TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, method, route, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
