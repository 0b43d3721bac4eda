DROP TABLE org_roles;
DROP TABLE memberships;
ALTER TABLE users DROP COLUMN birth_date;
ALTER TABLE users DROP COLUMN gender;
DROP TABLE org_settings;
DROP TABLE orgs;
