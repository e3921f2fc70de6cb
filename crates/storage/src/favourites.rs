//! Favourites (likes).

use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

/// Records a favourite; returns `false` if it already existed.
pub async fn insert<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    status: StatusId,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO favourites (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, status_id) DO NOTHING",
        args![id, account, status, crate::now()],
    )
    .await
    .map(|n| n > 0)
}

/// Removes a favourite; returns its id if one existed.
pub async fn delete<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    status: StatusId,
) -> Result<Option<i64>> {
    sql::fetch_optional_scalar(
        ex,
        "DELETE FROM favourites WHERE account_id = $1 AND status_id = $2 RETURNING id",
        args![account, status],
    )
    .await
}

/// Of `ids`, those `account` favourited.
pub async fn favourited_among<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    ids: &[StatusId],
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT status_id FROM favourites WHERE account_id = $1 AND status_id IN ({})",
        placeholders(2, ids.len())
    );
    let mut a = args![account];
    a.extend(ids.iter().map(|i| (*i).into()));
    sql::fetch_column(ex, sql, a).await
}
