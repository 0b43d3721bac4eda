-- Guests of a meeting (`src/activities/guests.rs`): people who are not invitees — a township
-- cadre at a village meeting — recorded by name and org (an org id, or an org name as free
-- text) by an organizer. Shown with the attendance; never counted as members.
CREATE TABLE activity_guests (
    id BIGSERIAL PRIMARY KEY,
    occurrence_id BIGINT NOT NULL REFERENCES activity_occurrences (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    org_id BIGINT REFERENCES orgs (id) ON DELETE SET NULL,
    org_name TEXT,
    recorded_by BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX activity_guests_occurrence ON activity_guests (occurrence_id);
