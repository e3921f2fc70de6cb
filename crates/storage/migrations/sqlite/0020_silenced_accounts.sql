-- Silenced (limited) accounts, as Mastodon's `silenced_at`: their statuses
-- stay visible to followers and by link, but leave public timelines, hashtag
-- timelines and trends.
ALTER TABLE accounts ADD COLUMN silenced_at TIMESTAMP;
