-- Trending hashtags, statuses and links, recomputed by the `trends` tick.
-- `kind` is 'tag', 'status' or 'link'; `item_id` the tag's, status's or
-- preview card's id. `score` is what readers see (0 = remembered for its
-- peak but not trending now); `max_score`/`max_score_at` are the peak the
-- score decays from (hashtags and links, as Mastodon's).
CREATE TABLE trends (
    kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    max_score DOUBLE PRECISION NOT NULL,
    max_score_at TIMESTAMPTZ NOT NULL,
    language TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, item_id)
);
CREATE INDEX index_trends_on_kind_and_score ON trends (kind, score);
