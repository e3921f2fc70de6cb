//! Search: full-text search of statuses behind [`SearchBackend`] (the
//! database's own engine here: PostgreSQL's tsvector with a GIN index,
//! SQLite's FTS5; another engine can implement the trait later), and
//! hashtags by prefix.

use std::fmt;

use async_trait::async_trait;
use ferrodon_model::{AccountId, StatusId, Visibility};

use crate::discovery::like_prefix;
use crate::sql::{self, args};
use crate::tags::Tag;
use crate::{Db, Dialect, Exec, Result};

/// A full-text status search, from one reader's point of view.
#[derive(Debug, Clone)]
pub struct StatusQuery {
    /// The words to find (all of them).
    pub text: String,
    pub viewer: AccountId,
    /// Only statuses by this account.
    pub account_id: Option<AccountId>,
    /// Only ids above / below these.
    pub min_id: Option<i64>,
    pub max_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Where status search runs.
#[async_trait]
pub trait SearchBackend: Send + Sync + fmt::Debug {
    /// Ids of statuses containing every word of `q.text`, newest first,
    /// among what Mastodon lets a reader search: their own statuses, those
    /// they favourited, bookmarked, boosted, replied to or were mentioned
    /// in, and public statuses of accounts that opted in (`indexable`).
    /// Whether the reader may see each result is the caller's check.
    async fn statuses(&self, q: &StatusQuery) -> Result<Vec<StatusId>>;
}

/// Search with the database's own full-text engine.
#[derive(Debug, Clone)]
pub struct DatabaseSearch {
    db: Db,
}

impl DatabaseSearch {
    pub fn new(db: Db) -> Self {
        DatabaseSearch { db }
    }
}

/// Words of a query: letters, digits and `_` (everything else separates).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(32)
        .collect()
}

/// What a reader may search, as a condition on `s` with the reader as `$1`.
fn searchable_by_reader() -> String {
    format!(
        "(s.account_id = $1 \
         OR EXISTS (SELECT 1 FROM favourites f WHERE f.status_id = s.id AND f.account_id = $1) \
         OR EXISTS (SELECT 1 FROM bookmarks b WHERE b.status_id = s.id AND b.account_id = $1) \
         OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = $1) \
         OR EXISTS (SELECT 1 FROM statuses r WHERE r.reblog_of_id = s.id AND r.account_id = $1) \
         OR EXISTS (SELECT 1 FROM statuses r WHERE r.in_reply_to_id = s.id AND r.account_id = $1) \
         OR (s.visibility = {public} AND EXISTS \
             (SELECT 1 FROM accounts a WHERE a.id = s.account_id AND a.indexable = TRUE)))",
        public = Visibility::Public.as_i16()
    )
}

#[async_trait]
impl SearchBackend for DatabaseSearch {
    async fn statuses(&self, q: &StatusQuery) -> Result<Vec<StatusId>> {
        let words = words(&q.text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let (matching, needle) = match self.db.dialect() {
            // The expression of the GIN index `search_statuses_tsv`.
            Dialect::Postgres => (
                "to_tsvector('simple'::regconfig, s.spoiler_text || ' ' || s.text) \
                 @@ plainto_tsquery('simple'::regconfig, $2)",
                words.join(" "),
            ),
            // Each word quoted: FTS5 query syntax stays out of users' hands.
            Dialect::Sqlite => (
                "s.id IN (SELECT rowid FROM search_statuses_fts WHERE search_statuses_fts MATCH $2)",
                words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        let sql = format!(
            "SELECT s.id FROM statuses s WHERE {matching} AND s.reblog_of_id IS NULL \
             AND {} AND ($3 = 0 OR s.account_id = $3) AND s.id > $4 AND s.id < $5 \
             ORDER BY s.id DESC LIMIT $6 OFFSET $7",
            searchable_by_reader()
        );
        let ids: Vec<i64> = sql::fetch_column(
            &self.db,
            sql,
            args![
                q.viewer,
                needle,
                q.account_id.map_or(0, |a| a.0),
                q.min_id.unwrap_or(0),
                q.max_id.unwrap_or(i64::MAX),
                q.limit,
                q.offset
            ],
        )
        .await?;
        Ok(ids.into_iter().map(StatusId).collect())
    }
}

/// Hashtags whose (normalised) name starts with `prefix`: the exact name
/// first, then shorter names first.
pub async fn tags_by_prefix<'a>(
    ex: impl Exec<'a>,
    prefix: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Tag>> {
    sql::fetch_all(
        ex,
        "SELECT id, name, display_name, created_at FROM tags WHERE name LIKE $1 ESCAPE '\\' \
         ORDER BY CASE WHEN name = $2 THEN 0 ELSE 1 END, LENGTH(name), name LIMIT $3 OFFSET $4",
        args![like_prefix(prefix), prefix, limit, offset],
    )
    .await
}

/// The status whose URI or URL is `url`.
pub async fn status_by_url<'a>(ex: impl Exec<'a>, url: &str) -> Result<Option<StatusId>> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT id FROM statuses WHERE (uri = $1 OR url = $1) AND reblog_of_id IS NULL \
         ORDER BY id LIMIT 1",
        args![url],
    )
    .await
    .map(|id| id.map(StatusId))
}

/// The account whose URI or URL is `url`.
pub async fn account_by_url<'a>(ex: impl Exec<'a>, url: &str) -> Result<Option<AccountId>> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT id FROM accounts WHERE uri = $1 OR url = $1 ORDER BY id LIMIT 1",
        args![url],
    )
    .await
    .map(|id| id.map(AccountId))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words() {
        assert_eq!(
            words("Hello, wörld! \"x\" OR-y"),
            vec!["hello", "wörld", "x", "or", "y"]
        );
        assert!(words(" *** ").is_empty());
    }
}
