-- Where each member belongs now, copied onto the statistics roll-ups, so an org's figures
-- are range scans over `org_path`, one table at a time, with no join to memberships and
-- orgs. `stats::rollup::members_changed` rewrites a member's rows (placement included)
-- after study, attendance, a transfer, a status or category change, an assignment or an
-- org move. `org_path` is NULL when the member has no current membership.
--
-- `stats_members` becomes the roster: one row for every member with a current membership
-- (and for former members with something to show), with the credit of the member's latest
-- year with data, so the member table of the current year is one scan without a join.
--
-- `stats_member_years` keeps what the org figures read: the year's credit, the active
-- months (bit m-1 for month m) and the active days of every month (bit d-1 for day d; two
-- months per column, the odd month in bits 0-30 and the even month in bits 31-61), so a
-- period that starts or ends inside a month still reads one row per member. Attendance by
-- status per month stays in `stats_member_months`.

ALTER TABLE stats_members ADD COLUMN org_id BIGINT REFERENCES orgs (id);
ALTER TABLE stats_members ADD COLUMN org_path TEXT COLLATE "C";
ALTER TABLE stats_members ADD COLUMN category TEXT NOT NULL DEFAULT 'full';
ALTER TABLE stats_members ADD COLUMN is_cadre BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE stats_members ADD COLUMN latest_year INTEGER;
ALTER TABLE stats_members ADD COLUMN latest_credit_centi BIGINT NOT NULL DEFAULT 0;

INSERT INTO stats_members (user_id, required_done)
SELECT m.user_id, 0 FROM memberships m
WHERE m.to_date IS NULL AND NOT EXISTS (SELECT 1 FROM stats_members s WHERE s.user_id = m.user_id);

UPDATE stats_members SET
    org_id = (SELECT m.org_id FROM memberships m WHERE m.user_id = stats_members.user_id AND m.to_date IS NULL),
    org_path = (SELECT o.path FROM memberships m JOIN orgs o ON o.id = m.org_id
        WHERE m.user_id = stats_members.user_id AND m.to_date IS NULL),
    category = COALESCE((SELECT m.category FROM memberships m WHERE m.user_id = stats_members.user_id AND m.to_date IS NULL), 'full'),
    is_cadre = COALESCE((SELECT m.is_cadre FROM memberships m WHERE m.user_id = stats_members.user_id AND m.to_date IS NULL), FALSE);

DROP TABLE stats_member_years;
CREATE TABLE stats_member_years (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    org_id BIGINT REFERENCES orgs (id),
    org_path TEXT COLLATE "C",
    category TEXT NOT NULL,
    is_cadre BOOLEAN NOT NULL,
    credit_centi BIGINT NOT NULL,
    active_months INTEGER NOT NULL,
    days_01_02 BIGINT NOT NULL,
    days_03_04 BIGINT NOT NULL,
    days_05_06 BIGINT NOT NULL,
    days_07_08 BIGINT NOT NULL,
    days_09_10 BIGINT NOT NULL,
    days_11_12 BIGINT NOT NULL,
    PRIMARY KEY (user_id, year)
);

INSERT INTO stats_member_years
SELECT p.user_id, p.year, s.org_id, s.org_path, COALESCE(s.category, 'full'),
    COALESCE(s.is_cadre, FALSE),
    CAST(COALESCE(SUM(p.credit_centi), 0) AS BIGINT),
    CAST(COALESCE(SUM(CASE WHEN p.active_days <> 0 THEN CASE p.month WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 4 WHEN 4 THEN 8 WHEN 5 THEN 16 WHEN 6 THEN 32 WHEN 7 THEN 64 WHEN 8 THEN 128 WHEN 9 THEN 256 WHEN 10 THEN 512 WHEN 11 THEN 1024 WHEN 12 THEN 2048 END ELSE 0 END), 0) AS INTEGER),
    CAST(COALESCE(SUM(CASE WHEN p.month = 1 THEN p.active_days WHEN p.month = 2 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_01_02,
    CAST(COALESCE(SUM(CASE WHEN p.month = 3 THEN p.active_days WHEN p.month = 4 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_03_04,
    CAST(COALESCE(SUM(CASE WHEN p.month = 5 THEN p.active_days WHEN p.month = 6 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_05_06,
    CAST(COALESCE(SUM(CASE WHEN p.month = 7 THEN p.active_days WHEN p.month = 8 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_07_08,
    CAST(COALESCE(SUM(CASE WHEN p.month = 9 THEN p.active_days WHEN p.month = 10 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_09_10,
    CAST(COALESCE(SUM(CASE WHEN p.month = 11 THEN p.active_days WHEN p.month = 12 THEN p.active_days * 2147483648 ELSE 0 END), 0) AS BIGINT) AS days_11_12
FROM stats_member_months p LEFT JOIN stats_members s ON s.user_id = p.user_id
GROUP BY p.user_id, p.year, s.org_id, s.org_path, s.category, s.is_cadre;

UPDATE stats_members SET latest_year =
    (SELECT MAX(y.year) FROM stats_member_years y WHERE y.user_id = stats_members.user_id);
UPDATE stats_members SET latest_credit_centi = COALESCE((SELECT y.credit_centi
    FROM stats_member_years y
    WHERE y.user_id = stats_members.user_id AND y.year = stats_members.latest_year), 0);

-- Occurrences carry their org's path too; the summary reads the period's occurrences in
-- time order from one covering index and sums them per org and kind.
ALTER TABLE stats_occurrences ADD COLUMN org_path TEXT COLLATE "C";
UPDATE stats_occurrences SET org_path =
    (SELECT o.path FROM orgs o WHERE o.id = stats_occurrences.org_id);
CREATE INDEX stats_occurrences_time ON stats_occurrences (starts_at, org_path, org_id, kind,
    invited, present, late, proxy, made_up, absent, leave);

-- The summary and the member table scan these in path order without visiting the tables.
CREATE INDEX stats_members_place ON stats_members (org_path, org_id, category, is_cadre,
    required_done, last_org_life_at, latest_year, latest_credit_centi, user_id);
CREATE INDEX stats_member_years_place ON stats_member_years
    (year, org_path, org_id, category, is_cadre, credit_centi, active_months,
    days_01_02, days_03_04, days_05_06, days_07_08, days_09_10, days_11_12);
