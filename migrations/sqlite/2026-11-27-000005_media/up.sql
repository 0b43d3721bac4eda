-- Uploaded media (video, audio, images, PDF), stored once per content in object storage
-- under a key derived from the SHA-256 of the bytes.
CREATE TABLE media (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Lower-case hex SHA-256 of the content: one row per distinct content.
    sha256 TEXT NOT NULL UNIQUE,
    -- 'video', 'audio', 'image' or 'pdf', decided from the content's magic bytes.
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    -- Object key in the media store (content-addressed).
    storage_key TEXT NOT NULL,
    -- Whole seconds of playback (audio/video); NULL when unknown.
    duration_s INTEGER,
    -- 'file' (read from the content) or 'uploader' (given with the upload).
    duration_source TEXT,
    -- The file name the first uploader sent, if any (for display only).
    file_name TEXT,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX media_uploaded_by ON media (uploaded_by);
