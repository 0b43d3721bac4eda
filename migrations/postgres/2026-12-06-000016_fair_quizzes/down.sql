DROP TABLE quiz_attempt_grants;
ALTER TABLE quizzes DROP COLUMN reveal_answers;
