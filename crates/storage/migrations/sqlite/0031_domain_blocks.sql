-- The instance's own policy towards other servers (Mastodon's domain blocks
-- and, for limited-federation mode, domain allows). A block covers the
-- domain and its subdomains.
CREATE TABLE domain_blocks (
    domain TEXT PRIMARY KEY,
    -- noop, silence or suspend
    severity TEXT NOT NULL,
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    reject_reports BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE domain_allows (
    domain TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);
