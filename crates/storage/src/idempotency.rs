//! `Idempotency-Key` records: the same key from the same account gives the same status.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args};
use crate::{Exec, Result};

/// The status created earlier with this key (since `since`), if any.
pub async fn find<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<StatusId>> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND created_at >= $3",
        args![account, key, since],
    )
    .await
    .map(|r| r.map(StatusId))
}

/// Claims `key` for `status`. Returns `false` when a live record (made at or
/// after `expired_before`) already holds the key: the caller then rolls back
/// and answers with that record's status. An expired record is taken over.
/// On PostgreSQL a concurrent claim of the same key waits for the first
/// transaction, so two requests never both win.
pub async fn claim<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    key: &str,
    status: StatusId,
    expired_before: DateTime<Utc>,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, key) DO UPDATE SET status_id = excluded.status_id, \
         created_at = excluded.created_at WHERE idempotency_keys.created_at < $5",
        args![account, key, status, crate::now(), expired_before],
    )
    .await
    .map(|n| n > 0)
}

/// Forgets keys recorded before `before`.
pub async fn delete_before<'a>(ex: impl Exec<'a>, before: DateTime<Utc>) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        args![before],
    )
    .await
}
