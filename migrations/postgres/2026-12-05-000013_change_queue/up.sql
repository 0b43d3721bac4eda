-- The change queue (`src/changes/`): write paths record what changed, in their own
-- transaction, one row per consumer; each consumer (statistics today, pushes next) takes
-- its rows, applies them and deletes them in one transaction. Rows carry keys only
-- (`subject`, `object`: user, occurrence, org or course ids as the kind says); consumers
-- recompute from the raw rows.
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    consumer TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject BIGINT NOT NULL,
    object BIGINT,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX changes_consumer ON changes (consumer, id);

-- A version per org, bumped by the statistics consumer for every org whose figures a change
-- touched (and its ancestors); cached statistics responses are keyed on it.
CREATE TABLE stats_versions (
    org_id BIGINT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);

-- Orgs whose digests were stale become changes the statistics consumer applies (it rebuilds
-- the org's digests).
INSERT INTO changes (consumer, kind, subject, recorded_at)
SELECT DISTINCT 'stats', 'org_changed', org_id, CURRENT_TIMESTAMP FROM stats_stale_orgs;
DROP TABLE stats_stale_orgs;

-- Study that completes nothing records no change, so the latest study event is no longer
-- kept on the roll-up (nothing read it).
ALTER TABLE stats_members DROP COLUMN last_study_at;

-- Occurrences whose start has passed are frozen (and counted) by a background task
-- (`src/activities/start.rs`), which finds them through this index.
CREATE INDEX activity_occurrences_unstarted ON activity_occurrences (starts_at)
    WHERE invitees_frozen_at IS NULL;
