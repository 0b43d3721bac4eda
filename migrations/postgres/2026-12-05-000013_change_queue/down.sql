DROP INDEX activity_occurrences_unstarted;
ALTER TABLE stats_members ADD COLUMN last_study_at TIMESTAMP;
CREATE TABLE stats_stale_orgs (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL,
    org_path TEXT COLLATE "C" NOT NULL
);
CREATE INDEX stats_stale_orgs_path ON stats_stale_orgs (org_path);
INSERT INTO stats_stale_orgs (org_id, org_path) SELECT id, path FROM orgs;
DROP TABLE stats_versions;
DROP TABLE changes;
