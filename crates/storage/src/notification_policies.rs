//! Notification policies, the requests that gather filtered notifications
//! per sender, and the senders a user accepted.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds, StatusId};

use crate::sql::{self, Query, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Policy {
    pub for_not_following: String,
    pub for_not_followers: String,
    pub for_new_accounts: String,
    pub for_private_mentions: String,
    pub for_limited_accounts: String,
}

impl Default for Policy {
    /// Mastodon's defaults: private mentions from strangers and limited
    /// accounts are filtered, everything else accepted.
    fn default() -> Self {
        Policy {
            for_not_following: "accept".into(),
            for_not_followers: "accept".into(),
            for_new_accounts: "accept".into(),
            for_private_mentions: "filter".into(),
            for_limited_accounts: "filter".into(),
        }
    }
}

impl Policy {
    /// Whether no condition sets anything aside.
    pub fn accepts_everything(&self) -> bool {
        [
            &self.for_not_following,
            &self.for_not_followers,
            &self.for_new_accounts,
            &self.for_private_mentions,
            &self.for_limited_accounts,
        ]
        .iter()
        .all(|a| a.as_str() == "accept")
    }
}

/// `account`'s policy (the defaults when never set).
pub async fn policy<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Policy> {
    let found: Option<Policy> = sql::fetch_optional(
        ex,
        "SELECT for_not_following, for_not_followers, for_new_accounts, for_private_mentions, \
         for_limited_accounts FROM notification_policies WHERE account_id = $1",
        args![account],
    )
    .await?;
    Ok(found.unwrap_or_default())
}

pub async fn set_policy<'a>(ex: impl Exec<'a>, account: AccountId, p: &Policy) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO notification_policies (account_id, for_not_following, for_not_followers, \
         for_new_accounts, for_private_mentions, for_limited_accounts, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO UPDATE SET \
         for_not_following = $2, for_not_followers = $3, for_new_accounts = $4, \
         for_private_mentions = $5, for_limited_accounts = $6, updated_at = $7",
        args![
            account,
            p.for_not_following.as_str(),
            p.for_not_followers.as_str(),
            p.for_new_accounts.as_str(),
            p.for_private_mentions.as_str(),
            p.for_limited_accounts.as_str(),
            crate::now()
        ],
    )
    .await
    .map(|_| ())
}

pub async fn is_permitted<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    from: AccountId,
) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT id FROM notification_permissions WHERE account_id = $1 AND from_account_id = $2",
        args![account, from],
    )
    .await
    .map(|r| r.is_some())
}

pub async fn permit<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    from: AccountId,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO notification_permissions (id, account_id, from_account_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, from_account_id) DO NOTHING",
        args![id, account, from, crate::now()],
    )
    .await
    .map(|_| ())
}

/// When `follower` started following `target`, if it does.
pub async fn followed_since<'a>(
    ex: impl Exec<'a>,
    follower: AccountId,
    target: AccountId,
) -> Result<Option<DateTime<Utc>>> {
    sql::fetch_optional_scalar(
        ex,
        "SELECT created_at FROM follows WHERE account_id = $1 AND target_account_id = $2",
        args![follower, target],
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    #[sqlx(try_from = "i64")]
    pub from_account_id: AccountId,
    pub last_status_id: Option<i64>,
    pub notifications_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const REQUEST_COLUMNS: &str = "r.id, r.account_id, r.from_account_id, r.last_status_id, \
     r.notifications_count, r.created_at, r.updated_at";

/// Counts one more filtered notification from `from` (creating the
/// request); the newest status (highest id) stays the last one, whatever
/// order the notifications arrive in.
pub async fn record<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    from: AccountId,
    status: Option<StatusId>,
) -> Result<()> {
    let now = crate::now();
    sql::execute(
        ex,
        "INSERT INTO notification_requests (id, account_id, from_account_id, last_status_id, \
         notifications_count, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5) \
         ON CONFLICT (account_id, from_account_id) DO UPDATE SET \
         notifications_count = notification_requests.notifications_count + 1, \
         last_status_id = CASE WHEN $4 > COALESCE(notification_requests.last_status_id, 0) \
         THEN $4 ELSE notification_requests.last_status_id END, updated_at = $5",
        args![id, account, from, status, now],
    )
    .await
    .map(|_| ())
}

/// A page of `account`'s requests, newest first.
pub async fn requests<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<Request>> {
    let mut q = Query::new(format!(
        "SELECT {REQUEST_COLUMNS} FROM notification_requests r WHERE r.account_id = "
    ));
    let p = q.bind(account);
    q.push(&p);
    q.page("r.id", bounds);
    let mut rows: Vec<Request> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

pub async fn request<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<Request>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM notification_requests r WHERE r.account_id = $1 AND r.id = $2"
    );
    sql::fetch_optional(ex, sql, args![account, id]).await
}

pub async fn delete_request<'a>(ex: impl Exec<'a>, id: i64) -> Result<()> {
    sql::execute(
        ex,
        "DELETE FROM notification_requests WHERE id = $1",
        args![id],
    )
    .await
    .map(|_| ())
}

/// Pending requests and the notifications they hold.
pub async fn summary<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<(i64, i64)> {
    sql::fetch_one(
        ex,
        "SELECT COUNT(*), CAST(COALESCE(SUM(notifications_count), 0) AS BIGINT) FROM notification_requests \
         WHERE account_id = $1",
        args![account],
    )
    .await
}

/// Shows the filtered notifications from `from` to `account` like any other.
pub async fn unfilter_from<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    from: AccountId,
) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE notifications SET filtered = FALSE WHERE account_id = $1 AND from_account_id = $2 \
         AND filtered = TRUE",
        args![account, from],
    )
    .await
}

/// Deletes the filtered notifications from `from` to `account`.
pub async fn delete_filtered_from<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    from: AccountId,
) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND filtered = TRUE",
        args![account, from],
    )
    .await
}
