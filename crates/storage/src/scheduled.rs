//! Statuses scheduled for later: their parameters as JSON and when to
//! publish them.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds};

use crate::sql::{self, Query, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduledStatus {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    pub scheduled_at: DateTime<Utc>,
    /// The post's parameters, as JSON.
    pub params: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "s.id, s.account_id, s.scheduled_at, s.params, s.created_at";

pub async fn insert<'a>(ex: impl Exec<'a>, s: &ScheduledStatus) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO scheduled_statuses (id, account_id, scheduled_at, params, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![
            s.id,
            s.account_id,
            s.scheduled_at,
            s.params.as_str(),
            s.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// One of `account`'s scheduled statuses.
pub async fn get<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<ScheduledStatus>> {
    let sql =
        format!("SELECT {COLUMNS} FROM scheduled_statuses s WHERE s.id = $1 AND s.account_id = $2");
    sql::fetch_optional(ex, sql, args![id, account]).await
}

/// A scheduled status by id alone (for the publishing job).
pub async fn get_any<'a>(ex: impl Exec<'a>, id: i64) -> Result<Option<ScheduledStatus>> {
    let sql = format!("SELECT {COLUMNS} FROM scheduled_statuses s WHERE s.id = $1");
    sql::fetch_optional(ex, sql, args![id]).await
}

/// A page of `account`'s scheduled statuses, newest id first.
pub async fn list<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<ScheduledStatus>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM scheduled_statuses s WHERE s.account_id = "
    ));
    let p = q.bind(account);
    q.push(&p);
    q.page("s.id", bounds);
    let mut rows: Vec<ScheduledStatus> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// How many statuses `account` has scheduled, in all and within `[from, to)`.
pub async fn counts<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, i64)> {
    sql::fetch_one(
        ex,
        "SELECT COUNT(*), COUNT(CASE WHEN scheduled_at >= $2 AND scheduled_at < $3 THEN 1 END) \
         FROM scheduled_statuses WHERE account_id = $1",
        args![account, from, to],
    )
    .await
}

pub async fn reschedule<'a>(ex: impl Exec<'a>, id: i64, at: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE scheduled_statuses SET scheduled_at = $2 WHERE id = $1",
        args![id, at],
    )
    .await
    .map(|_| ())
}

/// Deletes a scheduled status; whether it was there (the publishing job
/// claims it this way, so it is published once).
pub async fn delete<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM scheduled_statuses WHERE id = $1",
        args![id],
    )
    .await
    .map(|n| n > 0)
}
