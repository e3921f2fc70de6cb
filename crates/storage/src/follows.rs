//! Follows and follow requests between accounts.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, FollowId, PageBounds};

use crate::accounts::{Account, account_columns};
use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Follow {
    #[sqlx(try_from = "i64")]
    pub id: FollowId,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    #[sqlx(try_from = "i64")]
    pub target_account_id: AccountId,
    pub uri: Option<String>,
    pub show_reblogs: bool,
    pub notify: bool,
    /// JSON array of language codes, or `None` for all.
    pub languages: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Which table: accepted follows or pending requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Follow,
    Request,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Follow => "follows",
            Kind::Request => "follow_requests",
        }
    }
}

const FOLLOW_COLUMNS: &str =
    "id, account_id, target_account_id, uri, show_reblogs, notify, languages, created_at";

/// Inserts a follow or request; returns `false` if one already existed.
pub async fn insert<'a>(ex: impl Exec<'a>, kind: Kind, f: &Follow) -> Result<bool> {
    let sql = format!(
        "INSERT INTO {} ({FOLLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (account_id, target_account_id) DO NOTHING",
        kind.table()
    );
    sql::execute(
        ex,
        sql,
        args![
            f.id,
            f.account_id,
            f.target_account_id,
            f.uri.clone(),
            f.show_reblogs,
            f.notify,
            f.languages.clone(),
            f.created_at
        ],
    )
    .await
    .map(|n| n > 0)
}

/// Changes the options of an existing follow or request.
pub async fn update_options<'a>(
    ex: impl Exec<'a>,
    kind: Kind,
    account: AccountId,
    target: AccountId,
    show_reblogs: Option<bool>,
    notify: Option<bool>,
    languages: Option<Option<String>>,
) -> Result<()> {
    let (set_languages, languages) = match languages {
        Some(l) => (true, l),
        None => (false, None),
    };
    let sql = format!(
        "UPDATE {} SET show_reblogs = COALESCE($3, show_reblogs), notify = COALESCE($4, notify), \
         languages = CASE WHEN $5 THEN $6 ELSE languages END \
         WHERE account_id = $1 AND target_account_id = $2",
        kind.table()
    );
    sql::execute(
        ex,
        sql,
        args![
            account,
            target,
            show_reblogs,
            notify,
            set_languages,
            languages
        ],
    )
    .await
    .map(|_| ())
}

/// Removes a follow or request; returns whether one existed.
pub async fn delete<'a>(
    ex: impl Exec<'a>,
    kind: Kind,
    account: AccountId,
    target: AccountId,
) -> Result<bool> {
    let sql = format!(
        "DELETE FROM {} WHERE account_id = $1 AND target_account_id = $2",
        kind.table()
    );
    sql::execute(ex, sql, args![account, target])
        .await
        .map(|n| n > 0)
}

pub async fn get<'a>(
    ex: impl Exec<'a>,
    kind: Kind,
    account: AccountId,
    target: AccountId,
) -> Result<Option<Follow>> {
    let sql = format!(
        "SELECT {FOLLOW_COLUMNS} FROM {} WHERE account_id = $1 AND target_account_id = $2",
        kind.table()
    );
    sql::fetch_optional(ex, sql, args![account, target]).await
}

/// Whether `account` follows `target`.
pub async fn follows<'a>(ex: impl Exec<'a>, account: AccountId, target: AccountId) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT CAST(1 AS BIGINT) FROM follows WHERE account_id = $1 AND target_account_id = $2",
        args![account, target],
    )
    .await
    .map(|r| r.is_some())
}

/// Rows of `kind` between `account` and any of `others`, in either direction.
pub async fn between<'a>(
    ex: impl Exec<'a>,
    kind: Kind,
    account: AccountId,
    others: &[AccountId],
) -> Result<Vec<Follow>> {
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(2, others.len());
    let sql = format!(
        "SELECT {FOLLOW_COLUMNS} FROM {t} WHERE (account_id = $1 AND target_account_id IN ({list})) \
         OR (target_account_id = $1 AND account_id IN ({list}))",
        t = kind.table()
    );
    let mut a = args![account];
    a.extend(others.iter().map(|o| (*o).into()));
    sql::fetch_all(ex, sql, a).await
}

/// A page of accounts on one side of `account`'s follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Accounts following `account`.
    Followers,
    /// Accounts `account` follows.
    Following,
}

/// An account in a follower/following list, with the follow id used as the page cursor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub follow_id: i64,
    #[sqlx(flatten)]
    pub account: Account,
}

pub async fn list<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    direction: Direction,
    bounds: &PageBounds,
) -> Result<Vec<Listed>> {
    let (join_on, filter) = match direction {
        Direction::Followers => ("a.id = f.account_id", "f.target_account_id"),
        Direction::Following => ("a.id = f.target_account_id", "f.account_id"),
    };
    let mut q = Query::new(format!(
        "SELECT f.id AS follow_id, {} FROM follows f JOIN accounts a ON {join_on} WHERE ",
        account_columns!()
    ));
    let p = q.bind(account);
    q.push(&format!("{filter} = {p} AND a.suspended_at IS NULL"));
    q.page("f.id", bounds);
    let mut rows: Vec<Listed> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// A page of the accounts asking to follow `account`, with the request id as cursor.
pub async fn list_requests<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<Listed>> {
    let mut q = Query::new(format!(
        "SELECT f.id AS follow_id, {} FROM follow_requests f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = ",
        account_columns!()
    ));
    let p = q.bind(account);
    q.push(&format!("{p} AND a.suspended_at IS NULL"));
    q.page("f.id", bounds);
    let mut rows: Vec<Listed> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Accounts on `domain` that follow (`Kind::Follow`) or ask to follow `account`.
pub async fn from_domain<'a>(
    ex: impl Exec<'a>,
    kind: Kind,
    account: AccountId,
    domain: &str,
) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT f.account_id FROM {} f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain = $2",
        kind.table()
    );
    sql::fetch_column(ex, sql, args![account, domain]).await
}

/// Who receives a status in their home feed, a batch at a time.
#[derive(Debug, Clone, Copy)]
pub struct FanOutQuery {
    pub author: AccountId,
    pub is_reblog: bool,
    /// Replying to someone other than the author: only their followers see it.
    pub reply_to_other: Option<AccountId>,
    /// A direct status: only followers it mentions get it.
    pub mentioned_in: Option<ferrodon_model::StatusId>,
}

/// Local followers of the author who should get the status, with account ids
/// in `(after, upto]`, in id order, at most `limit`. Followers who mute the
/// author or have them on an exclusive list are left out.
pub async fn fan_out_recipients<'a>(
    ex: impl Exec<'a>,
    query: &FanOutQuery,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NULL AND f.account_id > $2 \
         AND f.account_id <= $7 AND ($3 = FALSE OR f.show_reblogs) \
         AND ($4 = 0 OR f.account_id = $4 OR EXISTS (SELECT 1 FROM follows f2 \
              WHERE f2.account_id = f.account_id AND f2.target_account_id = $4)) \
         AND ($6 = 0 OR EXISTS (SELECT 1 FROM mentions m \
              WHERE m.status_id = $6 AND m.account_id = f.account_id)) \
         AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = f.account_id \
              AND mu.target_account_id = $1 AND (mu.expires_at IS NULL OR mu.expires_at > $8)) \
         AND NOT EXISTS (SELECT 1 FROM list_accounts xla JOIN lists xl ON xl.id = xla.list_id \
              WHERE xla.account_id = $1 AND xl.account_id = f.account_id AND xl.exclusive) \
         ORDER BY f.account_id LIMIT $5",
        args![
            query.author,
            after,
            query.is_reblog,
            query.reply_to_other.map(|a| a.0).unwrap_or(0),
            limit,
            query.mentioned_in.map(|s| s.0).unwrap_or(0),
            upto,
            crate::now()
        ],
    )
    .await
}

/// Local accounts following `author` (all of them; for feed clean-up).
pub async fn local_follower_ids<'a>(
    ex: impl Exec<'a>,
    author: AccountId,
    after: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NULL AND f.account_id > $2 \
         ORDER BY f.account_id LIMIT $3",
        args![author, after, limit],
    )
    .await
}

/// Pending follow requests to `account`.
pub async fn count_requests_for<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM follow_requests WHERE target_account_id = $1",
        args![account],
    )
    .await
}

/// Of `accounts`, those following `author` with notifications on (`notify`).
pub async fn notifying_among<'a>(
    ex: impl Exec<'a>,
    author: AccountId,
    accounts: &[AccountId],
) -> Result<Vec<i64>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT account_id FROM follows WHERE target_account_id = $1 AND notify = TRUE AND account_id IN ({})",
        placeholders(2, accounts.len())
    );
    let mut a = args![author];
    a.extend(accounts.iter().map(|x| (*x).into()));
    sql::fetch_column(ex, sql, a).await
}
