-- The instance actor's key pair (Mastodon's `/actor`, which signs fetches
-- made for the instance rather than for a person): one row, made on first
-- use. Local accounts keep theirs in accounts.public_key_pem / private_key_pem.
CREATE TABLE instance_keys (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
