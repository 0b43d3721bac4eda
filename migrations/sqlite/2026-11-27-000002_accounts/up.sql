-- People who can log in, their refresh-token families, and the audit log.
CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    wechat_openid TEXT UNIQUE,
    wechat_unionid TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A login starts a family; every refresh adds a token to it; reuse revokes the family.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoke_reason TEXT
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);

-- Each refresh token (stored as a SHA-256 hash) with the access token issued beside it,
-- so a replay inside the grace window can return the identical pair.
CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    access_jti TEXT NOT NULL,
    access_iat BIGINT NOT NULL,
    access_exp BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_jti ON refresh_tokens (access_jti);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_user_id BIGINT,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    org_id BIGINT,
    ip TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);
CREATE INDEX audit_log_org ON audit_log (org_id, at);
