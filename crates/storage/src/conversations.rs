//! Threads ("conversations" in Mastodon's model): which thread a status is
//! in, threads muted by an account, and the direct-message conversations
//! each participant sees.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds, StatusId};

use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

/// Puts a status in a thread.
pub async fn set_conversation<'a>(
    ex: impl Exec<'a>,
    status: StatusId,
    conversation: i64,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE statuses SET conversation_id = $2 WHERE id = $1",
        args![status, conversation],
    )
    .await
    .map(|_| ())
}

/// The thread of a status (its own id for statuses from before threads were kept).
pub async fn conversation_of<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Option<i64>> {
    sql::fetch_optional_scalar(
        ex,
        "SELECT COALESCE(conversation_id, id) FROM statuses WHERE id = $1",
        args![status],
    )
    .await
}

/// Mutes (or with `muted == false` unmutes) a thread for `account`.
pub async fn set_muted<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    conversation: i64,
    muted: bool,
) -> Result<()> {
    let (sql, a) = if muted {
        (
            "INSERT INTO conversation_mutes (account_id, conversation_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, conversation_id) DO NOTHING",
            args![account, conversation, crate::now()],
        )
    } else {
        (
            "DELETE FROM conversation_mutes WHERE account_id = $1 AND conversation_id = $2",
            args![account, conversation],
        )
    };
    sql::execute(ex, sql, a).await.map(|_| ())
}

/// Of `statuses`, those in threads `account` muted.
pub async fn muted_among<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    statuses: &[StatusId],
) -> Result<Vec<i64>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT s.id FROM statuses s JOIN conversation_mutes m \
         ON m.conversation_id = COALESCE(s.conversation_id, s.id) AND m.account_id = $1 \
         WHERE s.id IN ({})",
        placeholders(2, statuses.len())
    );
    let mut a = args![account];
    a.extend(statuses.iter().map(|s| (*s).into()));
    sql::fetch_column(ex, sql, a).await
}

/// A direct-message conversation as one participant sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountConversation {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: i64,
    /// The other participants, sorted, comma-separated.
    pub participant_ids: String,
    pub last_status_id: i64,
    pub unread: bool,
    pub updated_at: DateTime<Utc>,
}

impl AccountConversation {
    pub fn participants(&self) -> Vec<AccountId> {
        self.participant_ids
            .split(',')
            .filter_map(|p| p.parse().ok())
            .map(AccountId)
            .collect()
    }
}

const COLUMNS: &str =
    "id, account_id, conversation_id, participant_ids, last_status_id, unread, updated_at";

/// Records `status` as the latest of `account`'s conversation with
/// `participants` in thread `conversation`.
pub async fn add_status<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    conversation: i64,
    participants: &[AccountId],
    status: StatusId,
    unread: bool,
) -> Result<()> {
    let mut ids: Vec<i64> = participants.iter().map(|p| p.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let key = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    sql::execute(
        ex,
        "INSERT INTO account_conversations (id, account_id, conversation_id, participant_ids, \
         last_status_id, unread, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (account_id, conversation_id, participant_ids) DO UPDATE SET \
         last_status_id = CASE WHEN excluded.last_status_id > account_conversations.last_status_id \
           THEN excluded.last_status_id ELSE account_conversations.last_status_id END, \
         unread = account_conversations.unread OR excluded.unread, updated_at = excluded.updated_at",
        args![id, account, conversation, key, status, unread, crate::now()],
    )
    .await
    .map(|_| ())
}

/// A page of `account`'s conversations, most recent status first, paged by
/// the last status id (as Mastodon does).
pub async fn list<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<AccountConversation>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM account_conversations WHERE account_id = "
    ));
    let p = q.bind(account);
    q.push(&p);
    q.page("last_status_id", bounds);
    let mut rows: Vec<AccountConversation> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

pub async fn get<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<AccountConversation>> {
    let sql =
        format!("SELECT {COLUMNS} FROM account_conversations WHERE account_id = $1 AND id = $2");
    sql::fetch_optional(ex, sql, args![account, id]).await
}

pub async fn mark_read<'a>(ex: impl Exec<'a>, account: AccountId, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE account_conversations SET unread = FALSE WHERE account_id = $1 AND id = $2",
        args![account, id],
    )
    .await
    .map(|n| n > 0)
}

pub async fn delete<'a>(ex: impl Exec<'a>, account: AccountId, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM account_conversations WHERE account_id = $1 AND id = $2",
        args![account, id],
    )
    .await
    .map(|n| n > 0)
}

/// After `status` (a direct message in `conversation`) was deleted: each
/// conversation that showed it moves back to the newest direct status left
/// in the thread that its owner wrote or was mentioned in, or goes away.
pub async fn remove_status(tx: &mut crate::Tx, conversation: i64, status: StatusId) -> Result<()> {
    sql::execute(
        &mut *tx,
        "UPDATE account_conversations SET last_status_id = COALESCE((SELECT MAX(s.id) FROM statuses s \
           WHERE COALESCE(s.conversation_id, s.id) = $1 AND s.visibility = 3 AND s.id <> $2 \
           AND (s.account_id = account_conversations.account_id OR EXISTS (SELECT 1 FROM mentions m \
                WHERE m.status_id = s.id AND m.account_id = account_conversations.account_id))), 0) \
         WHERE conversation_id = $1 AND last_status_id = $2",
        args![conversation, status],
    )
    .await?;
    sql::execute(
        &mut *tx,
        "DELETE FROM account_conversations WHERE conversation_id = $1 AND last_status_id = 0",
        args![conversation],
    )
    .await
    .map(|_| ())
}
