//! Media attachments: uploaded files (kept on disk under the media
//! directory at `file_path`), owned by an account and attached to at most
//! one status, in the order `position` records.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

const COLUMNS: &str = "id, account_id, status_id, position, kind, content_type, file_path, \
     file_size, width, height, description, focus, blurhash, created_at, updated_at, remote_url";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaAttachment {
    pub id: i64,
    pub account_id: i64,
    pub status_id: Option<i64>,
    /// Place among the status's attachments (0-based).
    pub position: i32,
    /// `image`, `gifv`, `video` or `audio`.
    pub kind: String,
    pub content_type: String,
    /// Relative to the media directory.
    pub file_path: String,
    pub file_size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub description: Option<String>,
    /// `x,y`, each in -1..1.
    pub focus: Option<String>,
    pub blurhash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where a remote status's attachment lives on its server (no file
    /// here yet: `file_path` is empty).
    pub remote_url: Option<String>,
}

/// A new upload, not attached yet.
#[derive(Debug, Clone)]
pub struct NewMedia {
    pub id: i64,
    pub account_id: AccountId,
    pub kind: String,
    pub content_type: String,
    pub file_path: String,
    pub file_size: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub description: Option<String>,
    pub focus: Option<String>,
}

pub async fn insert<'a>(ex: impl Exec<'a>, m: &NewMedia) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO media_attachments (id, account_id, kind, content_type, file_path, file_size, \
         width, height, description, focus, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        args![
            m.id,
            m.account_id,
            m.kind.as_str(),
            m.content_type.as_str(),
            m.file_path.as_str(),
            m.file_size,
            m.width,
            m.height,
            m.description.clone(),
            m.focus.clone(),
            crate::now()
        ],
    )
    .await
    .map(|_| ())
}

/// One of `account`'s attachments, attached or not.
pub async fn get_own<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<MediaAttachment>> {
    let sql = format!("SELECT {COLUMNS} FROM media_attachments WHERE id = $1 AND account_id = $2");
    sql::fetch_optional(ex, sql, args![id, account]).await
}

/// Sets the description and focus of an attachment.
pub async fn update_meta<'a>(
    ex: impl Exec<'a>,
    id: i64,
    description: Option<&str>,
    focus: Option<&str>,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE media_attachments SET description = $2, focus = $3, updated_at = $4 WHERE id = $1",
        args![id, description, focus, crate::now()],
    )
    .await
    .map(|_| ())
}

/// Deletes an attachment if it is not attached; whether it was deleted.
pub async fn delete_unattached<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM media_attachments WHERE id = $1 AND status_id IS NULL",
        args![id],
    )
    .await
    .map(|n| n > 0)
}

/// How many unattached uploads `account` has, and their bytes.
pub async fn unattached_usage<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<(i64, i64)> {
    #[derive(sqlx::FromRow)]
    struct Usage {
        files: i64,
        bytes: i64,
    }
    let u: Usage = sql::fetch_one(
        ex,
        "SELECT COUNT(*) AS files, CAST(COALESCE(SUM(file_size), 0) AS BIGINT) AS bytes \
         FROM media_attachments WHERE account_id = $1 AND status_id IS NULL",
        args![account],
    )
    .await?;
    Ok((u.files, u.bytes))
}

/// `account`'s unattached attachments among `ids` (in no particular order).
pub async fn unattached_among<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    ids: &[i64],
) -> Result<Vec<MediaAttachment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM media_attachments WHERE account_id = $1 AND status_id IS NULL \
         AND id IN ({})",
        placeholders(2, ids.len())
    );
    let mut binds = args![account];
    binds.extend(ids.iter().map(|id| (*id).into()));
    sql::fetch_all(ex, sql, binds).await
}

/// Attaches `account`'s unattached attachment `id` to `status` at
/// `position`; false when it is not (any longer) one of those.
pub async fn attach<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
    status: StatusId,
    position: i32,
) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE media_attachments SET status_id = $3, position = $4, updated_at = $5 \
         WHERE id = $1 AND account_id = $2 AND status_id IS NULL",
        args![id, account, status, position, crate::now()],
    )
    .await
    .map(|n| n == 1)
}

/// Detaches the attachments of `status` (deleted: they stay a day, for a redraft).
pub async fn detach_all<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE media_attachments SET status_id = NULL, position = 0, updated_at = $2 \
         WHERE status_id = $1",
        args![status, crate::now()],
    )
    .await
}

/// The attachments of these statuses, by status then position.
pub async fn of_statuses<'a>(
    ex: impl Exec<'a>,
    statuses: &[StatusId],
) -> Result<Vec<MediaAttachment>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM media_attachments WHERE status_id IN ({}) \
         ORDER BY status_id, position, id",
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|s| (*s).into()).collect()).await
}

/// Up to `limit` attachments left unattached since before `cutoff`, oldest first.
pub async fn unattached_before<'a>(
    ex: impl Exec<'a>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<MediaAttachment>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM media_attachments WHERE status_id IS NULL AND updated_at < $1 \
         ORDER BY updated_at LIMIT $2"
    );
    sql::fetch_all(ex, sql, args![cutoff, limit]).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::testing::{local_account, storage_test};

    fn new(id: i64, account: AccountId) -> NewMedia {
        NewMedia {
            id,
            account_id: account,
            kind: "image".into(),
            content_type: "image/png".into(),
            file_path: format!("media_attachments/files/{id}/original/x.png"),
            file_size: 67,
            width: Some(1),
            height: Some(1),
            description: None,
            focus: None,
        }
    }

    storage_test!(media_attach_and_detach, |db: Db| async move {
        let alice = local_account(&db).await;
        let bob = local_account(&db).await;
        for id in [1, 2, 3] {
            insert(&db, &new(id, alice)).await.unwrap();
        }
        insert(&db, &new(4, bob)).await.unwrap();
        let mut found: Vec<i64> = unattached_among(&db, alice, &[1, 2, 4, 9])
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        found.sort_unstable();
        assert_eq!(found, vec![1, 2], "only alice's own");
        assert!(get_own(&db, bob, 1).await.unwrap().is_none());

        let status = StatusId(crate::now().timestamp_micros());
        crate::statuses::insert(
            &db,
            &crate::statuses::NewStatus {
                id: status,
                uri: format!("https://x.example/s/{}", status.0),
                url: None,
                account_id: alice,
                text: String::new(),
                content: String::new(),
                spoiler_text: String::new(),
                sensitive: false,
                visibility: ferrodon_model::Visibility::Public,
                language: None,
                in_reply_to_id: None,
                in_reply_to_account_id: None,
                reblog_of_id: None,
                application_id: None,
                local: true,
                created_at: crate::now(),
                quote_approval_policy: 0,
            },
        )
        .await
        .unwrap();
        assert!(attach(&db, alice, 2, status, 0).await.unwrap());
        assert!(attach(&db, alice, 1, status, 1).await.unwrap());
        assert!(!attach(&db, alice, 1, status, 2).await.unwrap(), "twice");
        assert!(!attach(&db, alice, 4, status, 2).await.unwrap(), "bob's");
        let order: Vec<i64> = of_statuses(&db, &[status])
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(order, vec![2, 1]);
        assert!(!delete_unattached(&db, 1).await.unwrap(), "attached");

        update_meta(&db, 3, Some("a cat"), Some("0.5,-0.25"))
            .await
            .unwrap();
        let m = get_own(&db, alice, 3).await.unwrap().unwrap();
        assert_eq!(m.description.as_deref(), Some("a cat"));
        assert_eq!(m.focus.as_deref(), Some("0.5,-0.25"));

        // Deleting the status leaves its media unattached (for a redraft).
        crate::statuses::delete(&db, status).await.unwrap();
        assert!(of_statuses(&db, &[status]).await.unwrap().is_empty());
        let later = crate::now() + chrono::Duration::seconds(1);
        let stale = unattached_before(&db, later, 10).await.unwrap();
        assert_eq!(stale.len(), 4);
        assert!(delete_unattached(&db, 1).await.unwrap());
    });
}
