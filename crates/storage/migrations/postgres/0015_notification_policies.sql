-- Who may notify a user (Mastodon 4.3): per condition 'accept', 'filter'
-- (kept aside as a notification request) or 'drop'. No row: the defaults.
CREATE TABLE notification_policies (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    for_not_following TEXT NOT NULL,
    for_not_followers TEXT NOT NULL,
    for_new_accounts TEXT NOT NULL,
    for_private_mentions TEXT NOT NULL,
    for_limited_accounts TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Filtered notifications, gathered per sender until accepted or dismissed.
CREATE TABLE notification_requests (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    last_status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    notifications_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX index_notification_requests_on_account_and_from ON notification_requests (account_id, from_account_id);

-- Senders a user accepted: never filtered again.
CREATE TABLE notification_permissions (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX index_notification_permissions_on_account_and_from ON notification_permissions (account_id, from_account_id);
