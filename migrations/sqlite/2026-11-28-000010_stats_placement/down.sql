-- The roll-ups return to their earlier shape; run `dangke stats rebuild` afterwards to
-- refill the yearly attendance columns.
DROP TABLE stats_member_years;
CREATE TABLE stats_member_years (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    credit_centi BIGINT NOT NULL,
    lessons_completed INTEGER NOT NULL,
    present INTEGER NOT NULL,
    late INTEGER NOT NULL,
    proxy INTEGER NOT NULL,
    made_up INTEGER NOT NULL,
    absent INTEGER NOT NULL,
    leave INTEGER NOT NULL,
    org_life INTEGER NOT NULL,
    active_months INTEGER NOT NULL,
    last_org_life_on DATE,
    PRIMARY KEY (user_id, year)
);
CREATE INDEX stats_member_years_year ON stats_member_years (year, user_id);
DROP INDEX stats_occurrences_time;
ALTER TABLE stats_occurrences DROP COLUMN org_path;
DROP INDEX stats_members_place;
ALTER TABLE stats_members DROP COLUMN latest_credit_centi;
ALTER TABLE stats_members DROP COLUMN latest_year;
ALTER TABLE stats_members DROP COLUMN is_cadre;
ALTER TABLE stats_members DROP COLUMN category;
ALTER TABLE stats_members DROP COLUMN org_path;
ALTER TABLE stats_members DROP COLUMN org_id;
DELETE FROM stats_members WHERE required_done = 0 AND last_study_at IS NULL
    AND last_active_at IS NULL AND last_org_life_at IS NULL;
