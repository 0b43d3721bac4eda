-- Activities (theme party day, "three meetings and one lesson", mini party classes, …):
-- a definition that is a one-off or a recurring series (RRULE with local DTSTART + TZID),
-- its occurrences as rows (materialized a year ahead; a moved or cancelled occurrence is an
-- exception on its row), minutes, the invitees frozen when an occurrence starts,
-- attendance, leave requests, and the per-user tokens of the iCalendar feed.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY NOT NULL,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- JSON object: agenda, place, location {latitude, longitude, radius_m}, online_url.
    details TEXT NOT NULL,
    course_id BIGINT REFERENCES courses (id),
    -- IANA zone (TZID) of the local start below.
    time_zone TEXT NOT NULL,
    dtstart_local TIMESTAMP NOT NULL,
    duration_min INTEGER NOT NULL,
    -- RFC 5545 RRULE without DTSTART; NULL for a one-off.
    rrule TEXT,
    -- Attendance credit (present, late, proxy) in hundredths of a credit hour.
    credit_centi INTEGER NOT NULL,
    makeup_window_days INTEGER NOT NULL,
    -- Occurrences exist as rows up to this instant (UTC).
    materialized_until TIMESTAMP NOT NULL,
    -- The whole series was cancelled.
    ended_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX activities_org ON activities (org_id);
CREATE INDEX activities_course ON activities (course_id);

CREATE TABLE activity_occurrences (
    id INTEGER PRIMARY KEY NOT NULL,
    activity_id BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    -- The start the rule gave (UTC): the recurrence id, kept when the occurrence moves.
    original_start TIMESTAMP NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- 'scheduled' or 'cancelled'.
    status TEXT NOT NULL,
    -- Moved or cancelled on its own (an exception regeneration leaves alone).
    is_exception BOOLEAN NOT NULL,
    place TEXT,
    cancel_reason TEXT,
    -- iCalendar SEQUENCE: bumped on every change a calendar should pick up.
    sequence INTEGER NOT NULL,
    -- 'not_open', 'open' or 'closed'.
    checkin_state TEXT NOT NULL,
    -- Random per-occurrence secret of the rotating check-in code.
    checkin_secret TEXT NOT NULL,
    invitees_frozen_at TIMESTAMP,
    -- When attendance was first recorded (the occurrence counts as held).
    held_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX activity_occurrences_recurrence ON activity_occurrences (activity_id, original_start);
CREATE INDEX activity_occurrences_org_start ON activity_occurrences (org_id, starts_at);
CREATE INDEX activity_occurrences_start ON activity_occurrences (starts_at);

-- Minutes of a held occurrence: text and photos.
CREATE TABLE activity_minutes (
    occurrence_id INTEGER PRIMARY KEY NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    -- JSON array of media ids.
    photo_media_ids TEXT NOT NULL,
    recorded_by BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE activity_invitees (
    occurrence_id BIGINT NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (occurrence_id, user_id)
);
CREATE INDEX activity_invitees_user ON activity_invitees (user_id);

CREATE TABLE activity_attendance (
    occurrence_id BIGINT NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- present, late, leave, absent, proxy, made_up
    status TEXT NOT NULL,
    -- checkin, proxy, leave, close, correction, makeup
    source TEXT NOT NULL,
    checked_in_at TIMESTAMP,
    distance_m INTEGER,
    reason TEXT,
    recorded_by BIGINT,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (occurrence_id, user_id)
);
CREATE INDEX activity_attendance_user ON activity_attendance (user_id);

CREATE TABLE activity_leaves (
    id INTEGER PRIMARY KEY NOT NULL,
    occurrence_id BIGINT NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    -- pending, approved, rejected
    status TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    decided_by BIGINT,
    decided_at TIMESTAMP,
    decision_note TEXT
);
CREATE UNIQUE INDEX activity_leaves_once ON activity_leaves (occurrence_id, user_id);
CREATE INDEX activity_leaves_user ON activity_leaves (user_id);

-- The secret in a member's calendar subscription URL, stored as a SHA-256 hash.
CREATE TABLE calendar_tokens (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX calendar_tokens_hash ON calendar_tokens (token_hash);
