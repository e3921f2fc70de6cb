-- Lists of followed accounts, each with its own timeline.
CREATE TABLE lists (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    -- Which replies the list's timeline shows: 'list', 'followed' or 'none'.
    replies_policy TEXT NOT NULL DEFAULT 'list',
    -- Members' statuses stay out of the owner's home timeline.
    exclusive BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX index_lists_on_account_id ON lists (account_id);

-- Members of a list. The owner follows each of them: ending the follow
-- (unfollow, block, removal from followers) removes the account from the
-- owner's lists.
CREATE TABLE list_accounts (
    list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (list_id, account_id)
);
CREATE INDEX index_list_accounts_on_account_id ON list_accounts (account_id);
