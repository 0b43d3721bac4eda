-- The sort key of a user's name (`collate::sort_key`): pinyin order as bytes, so member
-- tables sorted by name page by keyset in SQL in the order a secretary's roster has. Hex
-- digits only, so every collation orders it as bytes. Filled for existing users at start
-- (`auth::users::fill_name_keys`); written with the name from then on.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
CREATE INDEX users_name_key ON users (name_key, id);
