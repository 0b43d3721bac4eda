-- Reminders to members (WeChat subscription messages) go through the same outbox as the
-- channels' messages: a delivery goes to a channel (channel_id) or, with no channel, to the
-- member its one part names (a WeChat subscription message).
ALTER TABLE push_deliveries ALTER COLUMN channel_id DROP NOT NULL;
ALTER TABLE push_attempts ALTER COLUMN channel_id DROP NOT NULL;

-- One-time WeChat subscription grants a member gave on the phone
-- (wx.requestSubscribeMessage), per template: each allows exactly one message. Spent in
-- the transaction that writes the reminder.
CREATE TABLE push_grants (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    template_id TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, template_id)
);
