-- Full-text search of statuses with PostgreSQL's own engine: a GIN index
-- over a tsvector of the content warning and the text ('simple'
-- configuration: lower-cased words, no language-specific stemming, so it
-- suits every language alike). The queries repeat this exact expression.
-- (SQLite uses an FTS5 table instead; the schema parity test leaves
-- `search_*` objects out, as they differ by design.)
CREATE INDEX search_statuses_tsv ON statuses
    USING GIN (to_tsvector('simple'::regconfig, spoiler_text || ' ' || text));

-- Hashtag search by prefix (LIKE 'x%' under any database collation).
CREATE INDEX search_tags_name_prefix ON tags (name text_pattern_ops);

-- Search by a status's or profile's address.
CREATE INDEX index_statuses_on_url ON statuses (url);
CREATE INDEX index_accounts_on_url ON accounts (url);
