//! Outbound federation records: activities (each body stored once), one
//! delivery per distinct inbox with its state, and per-host health.

use chrono::{DateTime, Utc};

use crate::sql::{self, args};
use crate::{Exec, Result};

/// A delivery's state.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// Not attempted: the host is marked unavailable or blocked.
pub const SKIPPED: &str = "skipped";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Activity {
    pub id: i64,
    pub account_id: i64,
    pub status_id: Option<i64>,
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub activity_id: i64,
    pub inbox_url: String,
    pub host: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert_activity<'a>(ex: impl Exec<'a>, a: &Activity) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO outbound_activities (id, account_id, status_id, kind, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args![
            a.id,
            a.account_id,
            a.status_id,
            &a.kind,
            &a.body,
            a.created_at
        ],
    )
    .await
    .map(|_| ())
}

pub async fn activity<'a>(ex: impl Exec<'a>, id: i64) -> Result<Option<Activity>> {
    sql::fetch_optional(
        ex,
        "SELECT id, account_id, status_id, kind, body, created_at FROM outbound_activities \
         WHERE id = $1",
        args![id],
    )
    .await
}

/// Adds a pending delivery (one per activity and inbox; a second is ignored).
pub async fn insert_delivery<'a>(
    ex: impl Exec<'a>,
    id: i64,
    activity_id: i64,
    inbox_url: &str,
    host: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO deliveries (id, activity_id, inbox_url, host, state, attempts, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5) \
         ON CONFLICT (activity_id, inbox_url) DO NOTHING",
        args![id, activity_id, inbox_url, host, at],
    )
    .await
    .map(|_| ())
}

/// The pending deliveries of an activity to one host.
pub async fn pending_for_host<'a>(
    ex: impl Exec<'a>,
    activity_id: i64,
    host: &str,
) -> Result<Vec<Delivery>> {
    sql::fetch_all(
        ex,
        "SELECT id, activity_id, inbox_url, host, state, attempts, last_error, updated_at \
         FROM deliveries WHERE activity_id = $1 AND host = $2 AND state = 'pending' ORDER BY id",
        args![activity_id, host],
    )
    .await
}

/// Records an attempt's outcome.
pub async fn record<'a>(
    ex: impl Exec<'a>,
    id: i64,
    state: &str,
    attempted: bool,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE deliveries SET state = $2, attempts = attempts + $3, last_error = $4, \
         updated_at = $5 WHERE id = $1",
        args![
            id,
            state,
            i32::from(attempted),
            error.map(str::to_owned),
            at
        ],
    )
    .await
    .map(|_| ())
}

/// Every delivery of the activities about a status, newest activity first.
pub async fn for_status<'a>(ex: impl Exec<'a>, status_id: i64) -> Result<Vec<Delivery>> {
    sql::fetch_all(
        ex,
        "SELECT d.id, d.activity_id, d.inbox_url, d.host, d.state, d.attempts, d.last_error, \
         d.updated_at FROM deliveries d JOIN outbound_activities a ON a.id = d.activity_id \
         WHERE a.status_id = $1 ORDER BY d.activity_id DESC, d.inbox_url",
        args![status_id],
    )
    .await
}

/// A remote host's health.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Host {
    pub host: String,
    /// Distinct UTC days (`YYYY-MM-DD`, comma-separated, at most 7) with a
    /// failed delivery since the last success.
    pub failure_days: String,
    pub unavailable_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

pub async fn host<'a>(ex: impl Exec<'a>, host: &str) -> Result<Option<Host>> {
    sql::fetch_optional(
        ex,
        "SELECT host, failure_days, unavailable_since, last_success_at FROM federation_hosts \
         WHERE host = $1",
        args![host],
    )
    .await
}

/// Records a host's state after a delivery.
pub async fn set_host<'a>(ex: impl Exec<'a>, h: &Host, at: DateTime<Utc>) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO federation_hosts (host, failure_days, unavailable_since, last_success_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host) DO UPDATE SET \
         failure_days = EXCLUDED.failure_days, unavailable_since = EXCLUDED.unavailable_since, \
         last_success_at = EXCLUDED.last_success_at, updated_at = EXCLUDED.updated_at",
        args![
            &h.host,
            &h.failure_days,
            h.unavailable_since,
            h.last_success_at,
            at
        ],
    )
    .await
    .map(|_| ())
}

/// The inboxes of an account's remote followers, one per server where a
/// shared inbox is known.
pub async fn follower_inboxes<'a>(
    ex: impl Exec<'a>,
    account: ferrodon_model::AccountId,
) -> Result<Vec<String>> {
    sql::fetch_column(
        ex,
        "SELECT DISTINCT COALESCE(a.shared_inbox_url, a.inbox_url) FROM follows f \
         JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NOT NULL AND a.suspended_at IS NULL \
         AND COALESCE(a.shared_inbox_url, a.inbox_url) IS NOT NULL",
        args![account],
    )
    .await
}

/// `(account_id, target_account_id)` of the follow request (or follow)
/// whose `Follow` activity had this id: how an `Accept` naming only the id
/// finds what it accepts.
pub async fn follow_by_uri<'a>(ex: impl Exec<'a>, uri: &str) -> Result<Option<(i64, i64)>> {
    sql::fetch_optional(
        ex,
        "SELECT account_id, target_account_id FROM follow_requests WHERE uri = $1 \
         UNION ALL SELECT account_id, target_account_id FROM follows WHERE uri = $1 LIMIT 1",
        args![uri],
    )
    .await
}
