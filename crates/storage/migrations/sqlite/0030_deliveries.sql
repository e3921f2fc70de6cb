-- Outbound federation: each activity serialised once, one delivery per
-- distinct inbox with its outcome (the delivery report), and per remote
-- host what the breaker needs (distinct days with failures, unavailable).
CREATE TABLE outbound_activities (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    status_id INTEGER,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX index_outbound_activities_on_status_id ON outbound_activities (status_id);
CREATE INDEX index_outbound_activities_on_created_at ON outbound_activities (created_at);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES outbound_activities (id) ON DELETE CASCADE,
    inbox_url TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX index_deliveries_on_activity_id_and_inbox_url ON deliveries (activity_id, inbox_url);
CREATE INDEX index_deliveries_on_host_and_state ON deliveries (host, state);

CREATE TABLE federation_hosts (
    host TEXT PRIMARY KEY,
    failure_days TEXT NOT NULL DEFAULT '',
    unavailable_since TIMESTAMP,
    last_success_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
