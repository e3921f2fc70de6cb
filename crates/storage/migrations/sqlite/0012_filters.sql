-- Users' content filters (Mastodon's v2 filters): a title, the contexts it
-- applies in, an action and an optional expiry; matched by keywords or by
-- status ids. A v1 filter is one keyword of a filter.
CREATE TABLE custom_filters (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    context TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT 'warn',
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX index_custom_filters_on_account_id ON custom_filters (account_id);

CREATE TABLE custom_filter_keywords (
    id INTEGER PRIMARY KEY,
    custom_filter_id INTEGER NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    keyword TEXT NOT NULL,
    whole_word BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX index_custom_filter_keywords_on_custom_filter_id ON custom_filter_keywords (custom_filter_id);

CREATE TABLE custom_filter_statuses (
    id INTEGER PRIMARY KEY,
    custom_filter_id INTEGER NOT NULL REFERENCES custom_filters (id) ON DELETE CASCADE,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_custom_filter_statuses_on_filter_and_status ON custom_filter_statuses (custom_filter_id, status_id);
CREATE INDEX index_custom_filter_statuses_on_status_id ON custom_filter_statuses (status_id);
