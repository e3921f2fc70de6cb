-- Hashtags a user follows: public statuses carrying them reach the user's home.
CREATE TABLE tag_follows (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_tag_follows_on_account_id_and_tag_id ON tag_follows (account_id, tag_id);
CREATE INDEX index_tag_follows_on_tag_id ON tag_follows (tag_id);

-- Hashtags featured on a profile (counts are computed when read).
CREATE TABLE featured_tags (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_featured_tags_on_account_id_and_tag_id ON featured_tags (account_id, tag_id);

-- Accounts a user asked not to be suggested again.
CREATE TABLE follow_recommendation_mutes (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_follow_recommendation_mutes_on_account_and_target ON follow_recommendation_mutes (account_id, target_account_id);
