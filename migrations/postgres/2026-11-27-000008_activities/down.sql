DROP TABLE calendar_tokens;
DROP TABLE activity_leaves;
DROP TABLE activity_attendance;
DROP TABLE activity_invitees;
DROP TABLE activity_minutes;
DROP TABLE activity_occurrences;
DROP TABLE activities;
