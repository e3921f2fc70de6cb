//! What the operators publish: the server's rules and announcements (with
//! the users' dismissals and reactions), and reports users file.

use chrono::{DateTime, Utc};
use ferrodon_model::AccountId;

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rule {
    pub id: i64,
    pub text: String,
    pub hint: String,
    pub priority: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn add_rule<'a>(
    ex: impl Exec<'a>,
    id: i64,
    text: &str,
    hint: &str,
    priority: i64,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO rules (id, text, hint, priority, created_at) VALUES ($1, $2, $3, $4, $5)",
        args![id, text, hint, priority, crate::now()],
    )
    .await
    .map(|_| ())
}

/// The rules in display order.
pub async fn rules<'a>(ex: impl Exec<'a>) -> Result<Vec<Rule>> {
    sql::fetch_all(
        ex,
        "SELECT id, text, hint, priority, created_at FROM rules ORDER BY priority, id",
        vec![],
    )
    .await
}

pub async fn remove_rule<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(ex, "DELETE FROM rules WHERE id = $1", args![id])
        .await
        .map(|n| n > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Announcement {
    pub id: i64,
    pub text: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub all_day: bool,
    pub published_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ANNOUNCEMENT_COLUMNS: &str =
    "a.id, a.text, a.starts_at, a.ends_at, a.all_day, a.published_at, a.created_at, a.updated_at";

/// A new announcement, published now.
#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub id: i64,
    pub text: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub all_day: bool,
}

pub async fn add_announcement<'a>(ex: impl Exec<'a>, new: &NewAnnouncement) -> Result<()> {
    let now = crate::now();
    sql::execute(
        ex,
        "INSERT INTO announcements (id, text, starts_at, ends_at, all_day, published_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
        args![new.id, new.text.as_str(), new.starts_at, new.ends_at, new.all_day, now],
    )
    .await
    .map(|_| ())
}

pub async fn remove_announcement<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(ex, "DELETE FROM announcements WHERE id = $1", args![id])
        .await
        .map(|n| n > 0)
}

/// Every announcement, newest first (for operators).
pub async fn all_announcements<'a>(ex: impl Exec<'a>) -> Result<Vec<Announcement>> {
    let sql = format!("SELECT {ANNOUNCEMENT_COLUMNS} FROM announcements a ORDER BY a.id DESC");
    sql::fetch_all(ex, sql, vec![]).await
}

/// Announcements running at `now` (not ended), with whether `account` dismissed each.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActiveAnnouncement {
    #[sqlx(flatten)]
    pub announcement: Announcement,
    pub dismissed: bool,
}

pub async fn active_announcements<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<ActiveAnnouncement>> {
    let sql = format!(
        "SELECT {ANNOUNCEMENT_COLUMNS}, EXISTS (SELECT 1 FROM announcement_dismissals d \
         WHERE d.announcement_id = a.id AND d.account_id = $1) AS dismissed \
         FROM announcements a WHERE (a.ends_at IS NULL OR a.ends_at > $2) \
         ORDER BY COALESCE(a.starts_at, a.published_at) DESC, a.id DESC"
    );
    sql::fetch_all(ex, sql, args![account, now]).await
}

pub async fn exists<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(ex, "SELECT id FROM announcements WHERE id = $1", args![id])
        .await
        .map(|r| r.is_some())
}

pub async fn dismiss<'a>(ex: impl Exec<'a>, id: i64, account: AccountId) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO announcement_dismissals (announcement_id, account_id) VALUES ($1, $2) \
         ON CONFLICT (announcement_id, account_id) DO NOTHING",
        args![id, account],
    )
    .await
    .map(|_| ())
}

pub async fn react<'a>(ex: impl Exec<'a>, id: i64, account: AccountId, name: &str) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO announcement_reactions (announcement_id, account_id, name, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (announcement_id, account_id, name) DO NOTHING",
        args![id, account, name, crate::now()],
    )
    .await
    .map(|_| ())
}

pub async fn unreact<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    name: &str,
) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM announcement_reactions WHERE announcement_id = $1 AND account_id = $2 AND name = $3",
        args![id, account, name],
    )
    .await
    .map(|n| n > 0)
}

/// Reactions to announcements: (announcement, name, count, whether `account` is among them),
/// in order of first use.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReactionCount {
    pub announcement_id: i64,
    pub name: String,
    pub count: i64,
    pub me: bool,
}

pub async fn reactions<'a>(
    ex: impl Exec<'a>,
    ids: &[i64],
    account: AccountId,
) -> Result<Vec<ReactionCount>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT announcement_id, name, COUNT(*) AS count, \
         MAX(CASE WHEN account_id = $1 THEN 1 ELSE 0 END) = 1 AS me \
         FROM announcement_reactions WHERE announcement_id IN ({}) \
         GROUP BY announcement_id, name ORDER BY MIN(created_at), name",
        placeholders(2, ids.len())
    );
    let mut a = args![account];
    a.extend(ids.iter().map(|i| (*i).into()));
    sql::fetch_all(ex, sql, a).await
}

/// A report as filed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    pub id: i64,
    pub account_id: i64,
    pub target_account_id: i64,
    pub status_ids: String,
    pub rule_ids: String,
    pub comment: String,
    pub category: String,
    pub forward: bool,
    pub action_taken_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_report<'a>(ex: impl Exec<'a>, r: &Report) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO reports (id, account_id, target_account_id, status_ids, rule_ids, comment, \
         category, forward, action_taken_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            r.id,
            r.account_id,
            r.target_account_id,
            r.status_ids.as_str(),
            r.rule_ids.as_str(),
            r.comment.as_str(),
            r.category.as_str(),
            r.forward,
            r.action_taken_at,
            r.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Reports, newest first (for operators).
pub async fn reports<'a>(ex: impl Exec<'a>, limit: i64) -> Result<Vec<Report>> {
    sql::fetch_all(
        ex,
        "SELECT id, account_id, target_account_id, status_ids, rule_ids, comment, category, forward, \
         action_taken_at, created_at FROM reports ORDER BY id DESC LIMIT $1",
        args![limit],
    )
    .await
}

/// Domains of known remote accounts (the instance's peers).
pub async fn peers<'a>(ex: impl Exec<'a>) -> Result<Vec<String>> {
    sql::fetch_column(
        ex,
        "SELECT DISTINCT domain FROM accounts WHERE domain IS NOT NULL ORDER BY domain",
        vec![],
    )
    .await
}

/// Local figures of one week: statuses posted, users who signed in, accounts registered.
pub async fn week_activity<'a>(
    ex: impl Exec<'a>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    from_id: i64,
    to_id: i64,
) -> Result<(i64, i64, i64)> {
    sql::fetch_one(
        ex,
        "SELECT (SELECT COUNT(*) FROM statuses WHERE local = TRUE AND id >= $3 AND id < $4), \
         (SELECT COUNT(*) FROM users WHERE last_sign_in_at >= $1 AND last_sign_in_at < $2), \
         (SELECT COUNT(*) FROM accounts WHERE domain IS NULL AND created_at >= $1 AND created_at < $2)",
        args![from, to, from_id, to_id],
    )
    .await
}
