-- Study integrity: sync loads the accepted wall-clock spans of one account that could
-- overlap a batch (ended after the batch's first start, started before its last end) in
-- one range query.
CREATE INDEX study_events_user_ended ON study_events (user_id, ended_at);
