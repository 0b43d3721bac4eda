DROP TABLE wechat_bind_codes;
DROP TABLE media_owners;
