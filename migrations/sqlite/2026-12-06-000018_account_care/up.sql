-- One-time login codes a secretary issues to a member who cannot log in (no password, or
-- forgotten; WeChat lost): one live code per person, stored as its SHA-256, short-lived,
-- used up by the password reset it makes succeed.
CREATE TABLE login_codes (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_sha256 TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    issued_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
