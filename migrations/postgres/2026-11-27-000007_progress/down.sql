DROP TABLE credit_ledger;
DROP TABLE course_completions;
DROP TABLE lesson_progress;
DROP TABLE study_events;
