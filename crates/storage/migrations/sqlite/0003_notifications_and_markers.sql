-- Notifications: one row per (recipient, activity, type); the activity is the
-- favourite, follow, follow request, mention or status that caused it.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    activity_id INTEGER NOT NULL,
    status_id INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    group_key TEXT,
    filtered BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_notifications_on_account_activity_type ON notifications (account_id, activity_id, type);
CREATE INDEX index_notifications_on_account_id_and_id ON notifications (account_id, id);
CREATE INDEX index_notifications_on_account_id_and_group_key ON notifications (account_id, group_key) WHERE group_key IS NOT NULL;

-- Where a user stopped reading a timeline (home, notifications).
CREATE TABLE markers (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
