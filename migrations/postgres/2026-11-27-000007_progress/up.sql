-- Study events as phones send them (idempotent per user and client event id), the merged
-- coverage per user and lesson, course completions, and the yearly credit ledger.
CREATE TABLE study_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_event_id TEXT COLLATE "C" NOT NULL,
    lesson_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    from_s INTEGER NOT NULL,
    to_s INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    -- SHA-256 of the event content, to tell a replay from a conflicting reuse of the id.
    content_hash TEXT NOT NULL,
    -- 'accepted' or the rejection reason.
    outcome TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX study_events_client_id ON study_events (user_id, client_event_id);

-- Unique seconds covered, as a merged interval list ("[[0,60],[90,120]]").
CREATE TABLE lesson_progress (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lesson_id BIGINT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    covered TEXT NOT NULL,
    covered_s INTEGER NOT NULL,
    read_s INTEGER NOT NULL,
    resume_s INTEGER NOT NULL,
    last_event_at TIMESTAMP,
    completed_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, lesson_id)
);

CREATE TABLE course_completions (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    completed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, course_id)
);

-- Credit earned, once per source (a lesson completed, an activity attended).
CREATE TABLE credit_ledger (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The calendar year, in the home org's zone, of the event that earned it.
    year INTEGER NOT NULL,
    month INTEGER NOT NULL,
    source_kind TEXT COLLATE "C" NOT NULL,
    source_id BIGINT NOT NULL,
    credit_centi INTEGER NOT NULL,
    org_id BIGINT,
    earned_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX credit_ledger_source ON credit_ledger (user_id, source_kind, source_id);
CREATE INDEX credit_ledger_user_year ON credit_ledger (user_id, year);
