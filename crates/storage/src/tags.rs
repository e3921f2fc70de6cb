//! Hashtags and which statuses carry them.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, IdGenerator, PageBounds, StatusId, TagId};

use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tag {
    #[sqlx(try_from = "i64")]
    pub id: TagId,
    /// Normalised (lower-case) name, the key.
    pub name: String,
    /// The name as first written.
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// A tag by its normalised name.
pub async fn find<'a>(ex: impl Exec<'a>, name: &str) -> Result<Option<Tag>> {
    sql::fetch_optional(
        ex,
        "SELECT id, name, display_name, created_at FROM tags WHERE name = $1",
        args![name],
    )
    .await
}

/// The tag with this normalised name, created if new.
pub async fn find_or_create(
    tx: &mut Tx,
    ids: &IdGenerator,
    name: &str,
    display: &str,
) -> Result<Tag> {
    sql::execute(
        &mut *tx,
        "INSERT INTO tags (id, name, display_name, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
        args![ids.next().0, name, display, crate::now()],
    )
    .await?;
    sql::fetch_one(
        &mut *tx,
        "SELECT id, name, display_name, created_at FROM tags WHERE name = $1",
        args![name],
    )
    .await
}

pub async fn attach<'a>(ex: impl Exec<'a>, status: StatusId, tag: TagId) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO statuses_tags (status_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        args![status, tag],
    )
    .await
    .map(|_| ())
}

/// The tags of each of these statuses, as (status id, tag).
pub async fn of_statuses<'a>(ex: impl Exec<'a>, statuses: &[StatusId]) -> Result<Vec<StatusTag>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT st.status_id, t.id, t.name, t.display_name, t.created_at FROM statuses_tags st \
         JOIN tags t ON t.id = st.tag_id WHERE st.status_id IN ({}) ORDER BY t.name",
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|s| (*s).into()).collect()).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusTag {
    pub status_id: i64,
    #[sqlx(flatten)]
    pub tag: Tag,
}

/// Tags by normalised names (those that exist).
pub async fn find_many<'a>(ex: impl Exec<'a>, names: &[String]) -> Result<Vec<Tag>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, name, display_name, created_at FROM tags WHERE name IN ({})",
        placeholders(1, names.len())
    );
    sql::fetch_all(ex, sql, names.iter().map(|n| n.as_str().into()).collect()).await
}

/// Tags by id (those that exist).
pub async fn get_many<'a>(ex: impl Exec<'a>, ids: &[TagId]) -> Result<Vec<Tag>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, name, display_name, created_at FROM tags WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    sql::fetch_all(ex, sql, ids.iter().map(|t| (*t).into()).collect()).await
}

/// Which per-account table of tags: followed or featured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagRelation {
    Follow,
    Feature,
}

impl TagRelation {
    fn table(self) -> &'static str {
        match self {
            TagRelation::Follow => "tag_follows",
            TagRelation::Feature => "featured_tags",
        }
    }
}

/// Follows or features `tag` for `account`; `false` if it already was.
pub async fn relate<'a>(
    ex: impl Exec<'a>,
    rel: TagRelation,
    id: i64,
    account: AccountId,
    tag: TagId,
) -> Result<bool> {
    let sql = format!(
        "INSERT INTO {} (id, account_id, tag_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, tag_id) DO NOTHING",
        rel.table()
    );
    sql::execute(ex, sql, args![id, account, tag, crate::now()])
        .await
        .map(|n| n > 0)
}

/// Undoes [`relate`]; whether there was one.
pub async fn unrelate<'a>(
    ex: impl Exec<'a>,
    rel: TagRelation,
    account: AccountId,
    tag: TagId,
) -> Result<bool> {
    let sql = format!(
        "DELETE FROM {} WHERE account_id = $1 AND tag_id = $2",
        rel.table()
    );
    sql::execute(ex, sql, args![account, tag])
        .await
        .map(|n| n > 0)
}

/// Of `tags`, those `account` follows or features.
pub async fn related_among<'a>(
    ex: impl Exec<'a>,
    rel: TagRelation,
    account: AccountId,
    tags: &[TagId],
) -> Result<Vec<i64>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT tag_id FROM {} WHERE account_id = $1 AND tag_id IN ({})",
        rel.table(),
        placeholders(2, tags.len())
    );
    let mut a = args![account];
    a.extend(tags.iter().map(|t| (*t).into()));
    sql::fetch_column(ex, sql, a).await
}

/// A followed or featured tag with the row id (the page cursor and, for
/// featured tags, the entity id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelatedTag {
    pub relation_id: i64,
    #[sqlx(flatten)]
    pub tag: Tag,
}

/// A page of the tags `account` follows, newest follow first.
pub async fn followed<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<RelatedTag>> {
    let mut q = Query::new(
        "SELECT f.id AS relation_id, t.id, t.name, t.display_name, t.created_at \
         FROM tag_follows f JOIN tags t ON t.id = f.tag_id WHERE f.account_id = ",
    );
    let p = q.bind(account);
    q.push(&p);
    q.page("f.id", bounds);
    let mut rows: Vec<RelatedTag> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Local accounts following any of `tags`, with ids above `after`, in id order.
pub async fn local_followers<'a>(
    ex: impl Exec<'a>,
    tags: &[TagId],
    after: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT f.account_id FROM tag_follows f JOIN accounts a ON a.id = f.account_id \
         WHERE a.domain IS NULL AND f.account_id > $1 AND f.tag_id IN ({}) \
         ORDER BY f.account_id LIMIT $2",
        placeholders(3, tags.len())
    );
    let mut a = args![after, limit];
    a.extend(tags.iter().map(|t| (*t).into()));
    sql::fetch_column(ex, sql, a).await
}

/// A featured tag with its figures over the owner's public and unlisted statuses.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeaturedTag {
    pub relation_id: i64,
    #[sqlx(flatten)]
    pub tag: Tag,
    pub statuses_count: i64,
    pub last_status_at: Option<DateTime<Utc>>,
}

/// `account`'s featured tags, oldest first (as Mastodon lists them).
pub async fn featured<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Vec<FeaturedTag>> {
    sql::fetch_all(
        ex,
        "SELECT f.id AS relation_id, t.id, t.name, t.display_name, t.created_at, \
         (SELECT COUNT(*) FROM statuses_tags st JOIN statuses s ON s.id = st.status_id \
          WHERE st.tag_id = f.tag_id AND s.account_id = f.account_id AND s.visibility IN (0, 1)) \
          AS statuses_count, \
         (SELECT MAX(s.created_at) FROM statuses_tags st JOIN statuses s ON s.id = st.status_id \
          WHERE st.tag_id = f.tag_id AND s.account_id = f.account_id AND s.visibility IN (0, 1)) \
          AS last_status_at \
         FROM featured_tags f JOIN tags t ON t.id = f.tag_id WHERE f.account_id = $1 ORDER BY f.id",
        args![account],
    )
    .await
}

/// Removes one of `account`'s featured tags by its id; the tag it was.
pub async fn unfeature_by_id<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<i64>> {
    sql::fetch_optional_scalar(
        ex,
        "DELETE FROM featured_tags WHERE account_id = $1 AND id = $2 RETURNING tag_id",
        args![account, id],
    )
    .await
}

/// The tags `account` used most in public and unlisted statuses: (tag, uses).
pub async fn most_used_by<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    limit: i64,
) -> Result<Vec<(i64, i64)>> {
    sql::fetch_all(
        ex,
        "SELECT st.tag_id, COUNT(*) AS uses FROM statuses s JOIN statuses_tags st ON st.status_id = s.id \
         WHERE s.account_id = $1 AND s.visibility IN (0, 1) AND s.reblog_of_id IS NULL \
         GROUP BY st.tag_id ORDER BY uses DESC, st.tag_id DESC LIMIT $2",
        args![account, limit],
    )
    .await
}

/// One use of a tag in a public or unlisted status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagUse {
    pub tag_id: i64,
    pub created_at: DateTime<Utc>,
    pub account_id: i64,
}

/// Uses of `tags` in public statuses with ids from `since`, newest first, at most `limit`
/// (Mastodon's tag history counts public statuses only).
pub async fn uses_since<'a>(
    ex: impl Exec<'a>,
    tags: &[TagId],
    since: StatusId,
    limit: i64,
) -> Result<Vec<TagUse>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT st.tag_id, s.created_at, s.account_id FROM statuses_tags st JOIN statuses s ON s.id = st.status_id \
         WHERE st.status_id >= $1 AND s.visibility = 0 AND st.tag_id IN ({}) \
         ORDER BY st.status_id DESC LIMIT $2",
        placeholders(3, tags.len())
    );
    let mut a = args![since, limit];
    a.extend(tags.iter().map(|t| (*t).into()));
    sql::fetch_all(ex, sql, a).await
}

/// Removes every hashtag from a status (before an edit attaches the new ones).
pub async fn detach_all<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<()> {
    sql::execute(
        ex,
        "DELETE FROM statuses_tags WHERE status_id = $1",
        args![status],
    )
    .await
    .map(|_| ())
}
