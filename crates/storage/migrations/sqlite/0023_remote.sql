-- Remote actors and objects (federation's inbound side): what an actor
-- document says that the accounts table could not hold, the remote media
-- URL of attachments not downloaded yet, and tombstones, so a Delete that
-- arrives before its Create wins.
ALTER TABLE accounts ADD COLUMN public_key_id TEXT;
ALTER TABLE accounts ADD COLUMN following_url TEXT;
ALTER TABLE accounts ADD COLUMN featured_url TEXT;
ALTER TABLE accounts ADD COLUMN also_known_as TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN moved_to_account_id INTEGER;
ALTER TABLE accounts ADD COLUMN moved_to_uri TEXT;
ALTER TABLE accounts ADD COLUMN memorial BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE accounts ADD COLUMN last_webfingered_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN fetched_at TIMESTAMP;
CREATE INDEX index_accounts_on_public_key_id ON accounts (public_key_id);

ALTER TABLE media_attachments ADD COLUMN remote_url TEXT;

CREATE TABLE tombstones (
    uri TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Per-option counts of a remote poll as its server reports them (JSON
-- array), plus local votes not yet counted there; NULL for local polls,
-- which count their poll_votes rows.
ALTER TABLE polls ADD COLUMN remote_tallies TEXT;
