-- Media attachments: files uploaded by local accounts, stored under the
-- media directory at `file_path` (relative), attached to at most one status
-- (`position` keeps the order of `media_ids`). Unattached uploads older than
-- a day are removed by the scheduled clean-up. `focus` is "x,y" text.
-- Local avatars and headers are files under the same directory.
CREATE TABLE media_attachments (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id BIGINT REFERENCES statuses (id) ON DELETE SET NULL,
    position INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_path TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    width INTEGER,
    height INTEGER,
    description TEXT,
    focus TEXT,
    blurhash TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX index_media_attachments_on_account_id ON media_attachments (account_id);
CREATE INDEX index_media_attachments_on_status_id ON media_attachments (status_id);
CREATE INDEX index_media_attachments_unattached ON media_attachments (updated_at) WHERE status_id IS NULL;

ALTER TABLE accounts ADD COLUMN avatar_file TEXT;
ALTER TABLE accounts ADD COLUMN header_file TEXT;
