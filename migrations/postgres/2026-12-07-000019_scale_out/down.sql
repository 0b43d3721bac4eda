DROP TABLE occurrence_live_events;
DROP TABLE occurrence_live_heads;
DROP TABLE wechat_bind_tokens;
DROP TABLE wechat_access_tokens;
