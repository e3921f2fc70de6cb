-- Full-text search of statuses with SQLite's FTS5: an external-content
-- index over the content warning and the text, kept current by triggers.
-- (PostgreSQL uses a GIN index over a tsvector instead; the schema parity
-- test leaves `search_*` objects out, as they differ by design.)
CREATE VIRTUAL TABLE search_statuses_fts USING fts5(
    spoiler_text,
    text,
    content = 'statuses',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_statuses_fts (search_statuses_fts) VALUES ('rebuild');

CREATE TRIGGER search_statuses_fts_insert AFTER INSERT ON statuses BEGIN
    INSERT INTO search_statuses_fts (rowid, spoiler_text, text) VALUES (new.id, new.spoiler_text, new.text);
END;
CREATE TRIGGER search_statuses_fts_delete AFTER DELETE ON statuses BEGIN
    INSERT INTO search_statuses_fts (search_statuses_fts, rowid, spoiler_text, text)
    VALUES ('delete', old.id, old.spoiler_text, old.text);
END;
CREATE TRIGGER search_statuses_fts_update AFTER UPDATE OF spoiler_text, text ON statuses BEGIN
    INSERT INTO search_statuses_fts (search_statuses_fts, rowid, spoiler_text, text)
    VALUES ('delete', old.id, old.spoiler_text, old.text);
    INSERT INTO search_statuses_fts (rowid, spoiler_text, text) VALUES (new.id, new.spoiler_text, new.text);
END;

-- Search by a status's or profile's address.
CREATE INDEX index_statuses_on_url ON statuses (url);
CREATE INDEX index_accounts_on_url ON accounts (url);
