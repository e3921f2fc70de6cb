-- One counter per account, raised in the same transaction as every change to
-- its filters, keywords or filtered statuses: web processes cache compiled
-- filters per (account, version) and read only this row to know they are
-- current. No row means the account never had a filter.
CREATE TABLE filter_versions (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    version INTEGER NOT NULL
);
INSERT INTO filter_versions (account_id, version)
    SELECT DISTINCT account_id, 1 FROM custom_filters;
