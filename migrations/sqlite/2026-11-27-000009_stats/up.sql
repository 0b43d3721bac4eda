-- Statistics roll-ups, kept current by the write paths (progress sync, quiz, attendance,
-- transfers, assignments, org moves) in their own transactions, so statistics never scan
-- the event tables. `dangke stats rebuild` recomputes them from the raw rows.
--
-- A member's figures belong to the member, not to an org: org figures join the current
-- membership at read time, so a transfer carries the member's whole year along.

-- Per member and calendar year (in the zone of the member's home org for study, of the
-- activity for attendance).
CREATE TABLE stats_member_years (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    credit_centi BIGINT NOT NULL,
    lessons_completed INTEGER NOT NULL,
    -- Attendance records by status.
    present INTEGER NOT NULL,
    late INTEGER NOT NULL,
    proxy INTEGER NOT NULL,
    made_up INTEGER NOT NULL,
    absent INTEGER NOT NULL,
    leave INTEGER NOT NULL,
    -- Attendances (present, late, proxy, made_up) at organizational-life kinds.
    org_life INTEGER NOT NULL,
    -- Bit m-1 set when the member was active (completed study or attended) in month m.
    active_months INTEGER NOT NULL,
    last_org_life_on DATE,
    PRIMARY KEY (user_id, year)
);
CREATE INDEX stats_member_years_year ON stats_member_years (year, user_id);

-- The same per month, with the active days (bit d-1 for day d) for periods that start or
-- end inside a month.
CREATE TABLE stats_member_months (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    year INTEGER NOT NULL,
    month INTEGER NOT NULL,
    credit_centi BIGINT NOT NULL,
    lessons_completed INTEGER NOT NULL,
    present INTEGER NOT NULL,
    late INTEGER NOT NULL,
    proxy INTEGER NOT NULL,
    made_up INTEGER NOT NULL,
    absent INTEGER NOT NULL,
    leave INTEGER NOT NULL,
    org_life INTEGER NOT NULL,
    active_days INTEGER NOT NULL,
    PRIMARY KEY (user_id, year, month)
);

-- Per member, whatever the year: required courses done (of those required for the
-- current home org) and the last times.
CREATE TABLE stats_members (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    required_done INTEGER NOT NULL,
    last_study_at TIMESTAMP,
    last_active_at TIMESTAMP,
    last_org_life_at TIMESTAMP
);

-- Per occurrence that counts (started, so its invitees are frozen, and not cancelled):
-- invitees and attendance records by status. Attendance counts for the activity's org.
CREATE TABLE stats_occurrences (
    occurrence_id BIGINT NOT NULL PRIMARY KEY REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    held BOOLEAN NOT NULL,
    invited INTEGER NOT NULL,
    present INTEGER NOT NULL,
    late INTEGER NOT NULL,
    proxy INTEGER NOT NULL,
    made_up INTEGER NOT NULL,
    absent INTEGER NOT NULL,
    leave INTEGER NOT NULL
);
CREATE INDEX stats_occurrences_org_start ON stats_occurrences (org_id, starts_at);
