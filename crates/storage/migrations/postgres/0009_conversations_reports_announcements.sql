-- The thread a status belongs to: the root's id, inherited by replies.
ALTER TABLE statuses ADD COLUMN conversation_id BIGINT;
WITH RECURSIVE thread(id, root) AS (
    SELECT id, id FROM statuses WHERE in_reply_to_id IS NULL
    UNION ALL
    SELECT s.id, t.root FROM statuses s JOIN thread t ON s.in_reply_to_id = t.id
)
UPDATE statuses SET conversation_id = thread.root FROM thread WHERE statuses.id = thread.id;
UPDATE statuses SET conversation_id = id WHERE conversation_id IS NULL;
CREATE INDEX index_statuses_on_conversation_id ON statuses (conversation_id);

-- Threads whose notifications an account does not want.
CREATE TABLE conversation_mutes (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);

-- Direct-message conversations as each participant sees them.
CREATE TABLE account_conversations (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL,
    -- The other participants' ids, sorted, comma-separated.
    participant_ids TEXT NOT NULL,
    last_status_id BIGINT NOT NULL,
    unread BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX index_account_conversations_unique ON account_conversations (account_id, conversation_id, participant_ids);
CREATE INDEX index_account_conversations_on_account_id_and_last_status_id ON account_conversations (account_id, last_status_id);

-- Reports users file to the moderators.
CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- JSON arrays of ids.
    status_ids TEXT NOT NULL DEFAULT '[]',
    rule_ids TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    forward BOOLEAN NOT NULL DEFAULT FALSE,
    action_taken_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX index_reports_on_target_account_id ON reports (target_account_id);

-- The server's rules.
CREATE TABLE rules (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    hint TEXT NOT NULL DEFAULT '',
    priority BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);

-- Announcements by the operators.
CREATE TABLE announcements (
    id BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    starts_at TIMESTAMPTZ,
    ends_at TIMESTAMPTZ,
    all_day BOOLEAN NOT NULL DEFAULT FALSE,
    published_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE announcement_dismissals (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (announcement_id, account_id)
);
CREATE TABLE announcement_reactions (
    announcement_id BIGINT NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (announcement_id, account_id, name)
);
