-- Courses (online party classes and recorded mini party classes), their ordered lessons,
-- quizzes, quiz attempts, and assignments of courses to orgs.
CREATE TABLE courses (
    id INTEGER PRIMARY KEY NOT NULL,
    owner_org_id BIGINT NOT NULL REFERENCES orgs (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    cover_media_id BIGINT,
    cover_url TEXT,
    credit_centi INTEGER NOT NULL,
    -- JSON array of strings.
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    archived_at TIMESTAMP
);
CREATE INDEX courses_owner ON courses (owner_org_id);

CREATE TABLE lessons (
    id INTEGER PRIMARY KEY NOT NULL,
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    media_id BIGINT,
    external_url TEXT,
    duration_s INTEGER,
    body TEXT,
    -- Share of unique seconds to cover, in thousandths (900 = 0.9).
    min_coverage_permille INTEGER NOT NULL,
    min_reading_s INTEGER,
    credit_centi INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX lessons_course ON lessons (course_id, position);

CREATE TABLE quizzes (
    lesson_id INTEGER PRIMARY KEY NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    pass_mark_pct INTEGER NOT NULL,
    max_attempts INTEGER,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE quiz_questions (
    id INTEGER PRIMARY KEY NOT NULL,
    lesson_id BIGINT NOT NULL REFERENCES quizzes (lesson_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    points INTEGER NOT NULL
);
CREATE INDEX quiz_questions_lesson ON quiz_questions (lesson_id, position);

CREATE TABLE quiz_options (
    id INTEGER PRIMARY KEY NOT NULL,
    question_id BIGINT NOT NULL REFERENCES quiz_questions (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    is_correct BOOLEAN NOT NULL
);
CREATE INDEX quiz_options_question ON quiz_options (question_id, position);

CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY NOT NULL,
    lesson_id BIGINT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempt_no INTEGER NOT NULL,
    -- JSON: [{"question_id": 1, "option_ids": [3]}]
    answers TEXT NOT NULL,
    score_pct INTEGER NOT NULL,
    passed BOOLEAN NOT NULL,
    submitted_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX quiz_attempts_unique ON quiz_attempts (lesson_id, user_id, attempt_no);

-- A course published to an org applies to that org's whole subtree.
CREATE TABLE course_assignments (
    id INTEGER PRIMARY KEY NOT NULL,
    course_id BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    required BOOLEAN NOT NULL,
    due_date DATE,
    assigned_by BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX course_assignments_unique ON course_assignments (course_id, org_id);
CREATE INDEX course_assignments_org ON course_assignments (org_id);
