-- Statuses to publish later: the parameters of POST /api/v1/statuses as
-- JSON, published by a job at `scheduled_at`.
CREATE TABLE scheduled_statuses (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scheduled_at TIMESTAMP NOT NULL,
    params TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX index_scheduled_statuses_on_account_id_and_id ON scheduled_statuses (account_id, id);
CREATE INDEX index_scheduled_statuses_on_scheduled_at ON scheduled_statuses (scheduled_at);
