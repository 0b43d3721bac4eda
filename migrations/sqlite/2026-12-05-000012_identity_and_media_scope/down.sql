ALTER TABLE media DROP COLUMN unreferenced_since;
DROP TABLE wechat_bind_codes;
DROP TABLE media_owners;
