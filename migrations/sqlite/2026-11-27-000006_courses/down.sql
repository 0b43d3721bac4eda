DROP TABLE course_assignments;
DROP TABLE quiz_attempts;
DROP TABLE quiz_options;
DROP TABLE quiz_questions;
DROP TABLE quizzes;
DROP TABLE lessons;
DROP TABLE courses;
