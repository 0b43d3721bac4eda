-- Org digests: every org's statistics inputs packed into a few rows, so a county's figures
-- read about a thousand rows instead of one per member (`src/stats/digest.rs`).
--
-- One row per (org, part, year): part 0 is the roster of the members whose home org it is
-- (year 0), part 1 their year rows of `year`, part 2 the org's counted occurrences that
-- started in UTC year `year`. `data` is the packed rows; `org_path` is the org's path.
--
-- Writes do not rewrite digests (that would make every check-in of a branch wait for the
-- others): the transactions that rewrite roll-up rows add a row to `stats_stale_orgs` for
-- each org whose digests they changed, and the next statistics read over that org (or the
-- background refresh) rebuilds those orgs' digests from the roll-ups and deletes the marks
-- it saw. Every org starts stale, so the first read after this migration builds them all.

CREATE TABLE stats_digests (
    org_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    year INTEGER NOT NULL,
    org_path TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (org_id, part, year)
);
CREATE INDEX stats_digests_place ON stats_digests (part, year, org_path);

CREATE TABLE stats_stale_orgs (
    id INTEGER PRIMARY KEY NOT NULL,
    org_id BIGINT NOT NULL,
    org_path TEXT NOT NULL
);
CREATE INDEX stats_stale_orgs_path ON stats_stale_orgs (org_path);

-- Digests are rebuilt from the year rows of an org's members.
CREATE INDEX stats_member_years_org ON stats_member_years (org_id);

INSERT INTO stats_stale_orgs (org_id, org_path) SELECT id, path FROM orgs;
