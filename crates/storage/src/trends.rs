//! Trends: the inputs the `trends` tick scores (hashtag uses, interactions
//! with statuses) and the scored lists readers page through.

use chrono::{DateTime, Utc};
use ferrodon_model::StatusId;

use crate::sql::{self, args};
use crate::{Exec, Result, Tx};

/// What trends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    Tag,
    Status,
    Link,
}

impl TrendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrendKind::Tag => "tag",
            TrendKind::Status => "status",
            TrendKind::Link => "link",
        }
    }
}

/// One scored item.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Trend {
    pub item_id: i64,
    /// What readers see; 0 = not trending now (kept for its peak).
    pub score: f64,
    pub max_score: f64,
    pub max_score_at: DateTime<Utc>,
    pub language: Option<String>,
}

/// Distinct accounts that used each hashtag in public statuses (not
/// reblogs) with ids in `[from, to)`, by authors who are not suspended.
pub async fn tag_accounts<'a>(
    ex: impl Exec<'a>,
    from: StatusId,
    to: StatusId,
) -> Result<Vec<(i64, i64)>> {
    sql::fetch_all(
        ex,
        "SELECT st.tag_id, COUNT(DISTINCT s.account_id) FROM statuses_tags st \
         JOIN statuses s ON s.id = st.status_id JOIN accounts a ON a.id = s.account_id \
         WHERE st.status_id >= $1 AND st.status_id < $2 AND s.visibility = 0 \
         AND s.reblog_of_id IS NULL AND a.suspended_at IS NULL GROUP BY st.tag_id",
        args![from, to],
    )
    .await
}

/// A status that may trend, with its interactions so far.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusCandidate {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// Reblogs plus favourites.
    pub interactions: i64,
    pub language: Option<String>,
}

/// Statuses with ids from `since` that may trend (Mastodon's rules: public,
/// not a reply, no content warning, not sensitive, by a discoverable
/// account that is not suspended) and have at least `min_interactions`.
pub async fn status_candidates<'a>(
    ex: impl Exec<'a>,
    since: StatusId,
    min_interactions: i64,
) -> Result<Vec<StatusCandidate>> {
    sql::fetch_all(
        ex,
        "SELECT s.id, s.created_at, s.reblogs_count + s.favourites_count AS interactions, s.language \
         FROM statuses s JOIN accounts a ON a.id = s.account_id \
         WHERE s.id >= $1 AND s.visibility = 0 AND s.reblog_of_id IS NULL \
         AND s.in_reply_to_id IS NULL AND s.spoiler_text = '' AND s.sensitive = FALSE \
         AND a.discoverable = TRUE AND a.suspended_at IS NULL \
         AND s.reblogs_count + s.favourites_count >= $2",
        args![since, min_interactions],
    )
    .await
}

/// Every stored item of `kind`, trending or only remembered.
pub async fn all<'a>(ex: impl Exec<'a>, kind: TrendKind) -> Result<Vec<Trend>> {
    sql::fetch_all(
        ex,
        "SELECT item_id, score, max_score, max_score_at, language FROM trends WHERE kind = $1",
        args![kind.as_str()],
    )
    .await
}

/// Replaces the items of `kind` with `items`, in the caller's transaction.
pub async fn replace(
    tx: &mut Tx,
    kind: TrendKind,
    items: &[Trend],
    now: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        &mut *tx,
        "DELETE FROM trends WHERE kind = $1",
        args![kind.as_str()],
    )
    .await?;
    for t in items {
        sql::execute(
            &mut *tx,
            "INSERT INTO trends (kind, item_id, score, max_score, max_score_at, language, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                kind.as_str(),
                t.item_id,
                t.score,
                t.max_score,
                t.max_score_at,
                t.language.as_deref(),
                now
            ],
        )
        .await?;
    }
    Ok(())
}

/// Ids of the trending items of `kind`, highest score first (ties: newest
/// id first), skipping `offset`.
pub async fn top<'a>(
    ex: impl Exec<'a>,
    kind: TrendKind,
    offset: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT item_id FROM trends WHERE kind = $1 AND score > 0 \
         ORDER BY score DESC, item_id DESC LIMIT $2 OFFSET $3",
        args![kind.as_str(), limit, offset],
    )
    .await
}
