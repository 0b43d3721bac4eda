DROP INDEX study_events_user_ended;
