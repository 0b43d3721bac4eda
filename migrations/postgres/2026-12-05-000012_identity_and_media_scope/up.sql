-- The orgs a media object was uploaded for: the roots of the uploader's operating scope at
-- upload time (and of everyone who uploaded the same content again). Organizers of these
-- orgs see the media; everyone else only through something that uses it (a lesson, a
-- course cover, minutes) and that they may see.
CREATE TABLE media_owners (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (media_id, org_id)
);
CREATE INDEX media_owners_org ON media_owners (org_id);

-- Media uploaded before: the orgs where the uploader holds a role.
INSERT INTO media_owners (media_id, org_id, created_at)
SELECT DISTINCT m.id, r.org_id, m.created_at
FROM media m
JOIN org_roles r ON r.user_id = m.uploaded_by
ON CONFLICT DO NOTHING;

-- One-time codes an administrator issues so that a person who holds a role (or has a
-- password) can bind WeChat without a password: one live code per person, stored as a
-- SHA-256, used up by the bind that uses it.
CREATE TABLE wechat_bind_codes (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_sha256 TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    issued_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

-- When housekeeping first found a media object used by nothing (no lesson, cover or
-- minutes); cleared when something uses it again. Objects unused for the grace period are
-- removed.
ALTER TABLE media ADD COLUMN unreferenced_since TIMESTAMP;
