-- The organization tree (materialized path, byte-wise ordered), per-org settings,
-- memberships with history, and org roles.
CREATE TABLE orgs (
    id BIGSERIAL PRIMARY KEY,
    parent_id BIGINT REFERENCES orgs (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    sector TEXT NOT NULL,
    -- '/1/7/23/': ids from the root down, each followed by '/'.
    path TEXT COLLATE "C" NOT NULL UNIQUE,
    depth INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX orgs_parent ON orgs (parent_id);
CREATE UNIQUE INDEX orgs_parent_name ON orgs (parent_id, name);

-- Settings an org overrides; the effective value is the nearest ancestor's, else the default.
CREATE TABLE org_settings (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by BIGINT,
    PRIMARY KEY (org_id, key)
);

ALTER TABLE users ADD COLUMN gender TEXT;
ALTER TABLE users ADD COLUMN birth_date DATE;

-- A member's home org over time: the current row has to_date NULL.
CREATE TABLE memberships (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    category TEXT NOT NULL,
    is_cadre BOOLEAN NOT NULL,
    joined_party_on DATE,
    status TEXT NOT NULL,
    from_date DATE NOT NULL,
    to_date DATE,
    end_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX memberships_current ON memberships (user_id) WHERE to_date IS NULL;
CREATE INDEX memberships_org ON memberships (org_id, to_date);

-- Rights over an org's subtree.
CREATE TABLE org_roles (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    role TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    granted_by BIGINT
);
CREATE UNIQUE INDEX org_roles_unique ON org_roles (user_id, org_id, role);
CREATE INDEX org_roles_org ON org_roles (org_id);
