-- Quote posts (Mastodon 4.5). A status quotes at most one other; the quote
-- row keeps its own id (the QuoteAuthorization of a local quoted status is
-- named after it), its state (0 pending, 1 accepted, 2 rejected, 3 revoked,
-- 4 deleted) and, for federation, the URIs of the request and the approval.
-- A deleted quoted status leaves the quote with no quoted status (shown as
-- `deleted`).
CREATE TABLE quotes (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    quoted_status_id INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    quoted_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    state INTEGER NOT NULL DEFAULT 0,
    activity_uri TEXT,
    approval_uri TEXT,
    legacy BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_quotes_on_status_id ON quotes (status_id);
CREATE INDEX index_quotes_on_quoted_status_id_and_id ON quotes (quoted_status_id, id);
CREATE INDEX index_quotes_on_account_id ON quotes (account_id);
CREATE INDEX index_quotes_on_quoted_account_id ON quotes (quoted_account_id);
CREATE UNIQUE INDEX index_quotes_on_activity_uri ON quotes (activity_uri) WHERE activity_uri IS NOT NULL;

-- Who may quote a status: Mastodon's bitmap (automatic approval << 16 |
-- manual approval; bits: 1 unsupported policy, 2 public, 4 followers,
-- 8 following). 0 is "nobody but the author".
ALTER TABLE statuses ADD COLUMN quote_approval_policy INTEGER NOT NULL DEFAULT 0;
-- Accepted quotes of the status.
ALTER TABLE statuses ADD COLUMN quotes_count INTEGER NOT NULL DEFAULT 0;

-- The policy new posts get when none is given: public, followers or nobody.
ALTER TABLE users ADD COLUMN default_quote_policy TEXT NOT NULL DEFAULT 'public';
