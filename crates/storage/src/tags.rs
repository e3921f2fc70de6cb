//! Hashtags and which statuses carry them.

use chrono::{DateTime, Utc};
use ferrodon_model::{IdGenerator, StatusId, TagId};

use crate::sql::{self, args, placeholders};
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
