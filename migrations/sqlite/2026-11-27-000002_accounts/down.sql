DROP TABLE audit_log;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE users;
