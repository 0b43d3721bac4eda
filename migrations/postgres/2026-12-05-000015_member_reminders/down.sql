DROP TABLE push_grants;
DELETE FROM push_attempts WHERE delivery_id IN (SELECT id FROM push_deliveries WHERE channel_id IS NULL);
DELETE FROM push_deliveries WHERE channel_id IS NULL;
ALTER TABLE push_attempts ALTER COLUMN channel_id SET NOT NULL;
ALTER TABLE push_deliveries ALTER COLUMN channel_id SET NOT NULL;
