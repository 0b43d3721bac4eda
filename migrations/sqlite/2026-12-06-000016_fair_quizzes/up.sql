-- Fair quizzes. A quiz says when a member sees the right options of her attempts:
-- 'after_pass_or_last_attempt' (once she has passed or has no attempt left) or 'never'.
-- Quizzes set before this migration keep the default.
ALTER TABLE quizzes ADD COLUMN reveal_answers TEXT NOT NULL DEFAULT 'after_pass_or_last_attempt';

-- Extra attempts granted to one member for one lesson's quiz (by her secretary or the
-- course's managers; audited). Her attempts left = max_attempts + the sum of her grants −
-- the attempts she used. Refers to the lesson, not the quiz row, which replacing the quiz
-- deletes and inserts again.
CREATE TABLE quiz_attempt_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    lesson_id BIGINT NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    granted_by BIGINT NOT NULL,
    granted_at TIMESTAMP NOT NULL
);
CREATE INDEX quiz_attempt_grants_member ON quiz_attempt_grants (lesson_id, user_id);
