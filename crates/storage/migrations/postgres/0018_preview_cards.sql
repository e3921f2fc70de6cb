-- Preview cards (Mastodon's preview_cards): what a linked page says about
-- itself (OpenGraph, Twitter, <title>, JSON-LD), fetched by the FetchLinkCard
-- job and shared by every status linking to the same URL. `url` is the page's
-- canonical address (after redirects and <link rel=canonical>). `type`:
-- 0 link, 1 photo, 2 video, 3 rich; `link_type`: 0 unknown, 1 article.
-- `image_url` is the remote image as the page names it (not downloaded).
CREATE TABLE preview_cards (
    id BIGINT PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    type SMALLINT NOT NULL DEFAULT 0,
    link_type SMALLINT NOT NULL DEFAULT 0,
    html TEXT NOT NULL DEFAULT '',
    author_name TEXT NOT NULL DEFAULT '',
    author_url TEXT NOT NULL DEFAULT '',
    provider_name TEXT NOT NULL DEFAULT '',
    provider_url TEXT NOT NULL DEFAULT '',
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    image_url TEXT,
    image_description TEXT NOT NULL DEFAULT '',
    embed_url TEXT NOT NULL DEFAULT '',
    blurhash TEXT,
    language TEXT,
    published_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX index_preview_cards_on_url ON preview_cards (url);

-- Which card a status shows (at most one), and the URL as the status wrote it
-- (the card's `url` may be the canonical one it led to). Link trends count
-- these rows.
CREATE TABLE preview_cards_statuses (
    status_id BIGINT PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    preview_card_id BIGINT NOT NULL REFERENCES preview_cards (id) ON DELETE CASCADE,
    url TEXT
);
CREATE INDEX index_preview_cards_statuses_on_preview_card_id_and_status_id ON preview_cards_statuses (preview_card_id, status_id);
