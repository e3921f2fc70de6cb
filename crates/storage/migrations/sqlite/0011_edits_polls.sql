-- Polls attached to statuses (one per status). Options are a JSON array of
-- titles; per-option tallies are counted from poll_votes.
CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    expires_at TIMESTAMP,
    options TEXT NOT NULL,
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals BOOLEAN NOT NULL DEFAULT FALSE,
    votes_count INTEGER NOT NULL DEFAULT 0,
    voters_count INTEGER NOT NULL DEFAULT 0,
    last_fetched_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_polls_on_status_id ON polls (status_id);

-- One row per chosen option (a multiple-choice vote is several rows).
CREATE TABLE poll_votes (
    id INTEGER PRIMARY KEY,
    poll_id INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_poll_votes_on_poll_id_account_id_choice ON poll_votes (poll_id, account_id, choice);
CREATE INDEX index_poll_votes_on_account_id ON poll_votes (account_id);

-- Revisions of edited statuses: the original first, then one per edit.
CREATE TABLE status_edits (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    text TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON array of the poll's option titles at the time, or NULL without a poll.
    poll_options TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX index_status_edits_on_status_id_and_id ON status_edits (status_id, id);
