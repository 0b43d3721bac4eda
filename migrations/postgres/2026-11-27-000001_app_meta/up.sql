-- Facts about this database: instance id, backend, the generated development JWT secret.
CREATE TABLE app_meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
