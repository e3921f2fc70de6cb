//! What federation's inbound side stores beyond the client API's rows:
//! remote actors (upserted by their ActivityPub id), tombstones of deleted
//! remote objects, remote custom emojis and remote media URLs.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::accounts::{Account, account_columns};
use crate::sql::{self, args};
use crate::{Exec, Result};

/// Every column an actor document sets on a remote account row.
#[derive(Debug, Clone)]
pub struct RemoteAccountRow {
    pub uri: String,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note: String,
    /// JSON `[{"name", "value"}]`.
    pub fields: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub url: Option<String>,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub outbox_url: String,
    pub followers_url: String,
    pub following_url: String,
    pub featured_url: Option<String>,
    pub public_key_id: String,
    pub public_key_pem: String,
    pub avatar_remote_url: Option<String>,
    pub header_remote_url: Option<String>,
    /// JSON array of URIs.
    pub also_known_as: String,
    pub moved_to_uri: Option<String>,
    pub moved_to_account_id: Option<AccountId>,
    pub memorial: bool,
    pub suspended: bool,
    pub created_at: DateTime<Utc>,
    pub fetched_at: DateTime<Utc>,
}

/// A remote account by ActivityPub id.
pub async fn account_by_uri<'a>(ex: impl Exec<'a>, uri: &str) -> Result<Option<Account>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a WHERE a.uri = $1"
        ),
        args![uri],
    )
    .await
}

/// The account whose key has this id (`keyId` of a signature).
pub async fn account_by_key_id<'a>(ex: impl Exec<'a>, key_id: &str) -> Result<Option<Account>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a WHERE a.public_key_id = $1 ORDER BY a.id LIMIT 1"
        ),
        args![key_id],
    )
    .await
}

/// The `also_known_as` JSON array of an account.
pub async fn also_known_as<'a>(ex: impl Exec<'a>, id: AccountId) -> Result<Option<String>> {
    sql::fetch_optional_scalar(
        ex,
        "SELECT also_known_as FROM accounts WHERE id = $1",
        args![id],
    )
    .await
}

/// Gives the row that holds `username@domain` under another `uri` a name
/// no actor can take (the newer actor takes the name, as in Mastodon); it
/// keeps its id and everything that hangs on it.
pub async fn release_acct<'a>(
    ex: impl Exec<'a>,
    username: &str,
    domain: &str,
    uri: &str,
) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE accounts SET username = username || '_' || CAST(id AS TEXT), \
         last_webfingered_at = NULL \
         WHERE lower(username) = lower($1) AND lower(domain) = lower($2) AND uri <> $3",
        args![username, domain, uri],
    )
    .await
}

/// Inserts a remote account; `false` if a row with this `uri` exists.
pub async fn insert_account<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    r: &RemoteAccountRow,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO accounts (id, uri, username, domain, display_name, note, fields, locked, \
         bot, discoverable, indexable, url, inbox_url, shared_inbox_url, outbox_url, \
         followers_url, following_url, featured_url, public_key_id, public_key_pem, \
         avatar_remote_url, header_remote_url, also_known_as, moved_to_uri, \
         moved_to_account_id, memorial, suspended_at, created_at, updated_at, fetched_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, CASE WHEN $27 THEN $29 ELSE NULL END, \
         $28, $29, $29) ON CONFLICT (uri) DO NOTHING",
        args![
            id,
            &r.uri,
            &r.username,
            &r.domain,
            &r.display_name,
            &r.note,
            &r.fields,
            r.locked,
            r.bot,
            r.discoverable,
            r.indexable,
            r.url.clone(),
            &r.inbox_url,
            r.shared_inbox_url.clone(),
            &r.outbox_url,
            &r.followers_url,
            &r.following_url,
            r.featured_url.clone(),
            &r.public_key_id,
            &r.public_key_pem,
            r.avatar_remote_url.clone(),
            r.header_remote_url.clone(),
            &r.also_known_as,
            r.moved_to_uri.clone(),
            r.moved_to_account_id,
            r.memorial,
            r.suspended,
            r.created_at,
            r.fetched_at
        ],
    )
    .await
    .map(|n| n > 0)
}

/// Updates the remote account with this `uri` from its actor document
/// (counters, local moderation and `created_at` stay).
pub async fn update_account<'a>(ex: impl Exec<'a>, r: &RemoteAccountRow) -> Result<u64> {
    sql::execute(
        ex,
        "UPDATE accounts SET username = $2, domain = $3, display_name = $4, note = $5, \
         fields = $6, locked = $7, bot = $8, discoverable = $9, indexable = $10, url = $11, \
         inbox_url = $12, shared_inbox_url = $13, outbox_url = $14, followers_url = $15, \
         following_url = $16, featured_url = $17, public_key_id = $18, public_key_pem = $19, \
         avatar_remote_url = $20, header_remote_url = $21, also_known_as = $22, \
         moved_to_uri = $23, moved_to_account_id = $24, memorial = $25, \
         suspended_at = CASE WHEN $26 THEN COALESCE(suspended_at, $27) ELSE suspended_at END, \
         updated_at = $27, fetched_at = $27 \
         WHERE uri = $1 AND domain IS NOT NULL",
        args![
            &r.uri,
            &r.username,
            &r.domain,
            &r.display_name,
            &r.note,
            &r.fields,
            r.locked,
            r.bot,
            r.discoverable,
            r.indexable,
            r.url.clone(),
            &r.inbox_url,
            r.shared_inbox_url.clone(),
            &r.outbox_url,
            &r.followers_url,
            &r.following_url,
            r.featured_url.clone(),
            &r.public_key_id,
            &r.public_key_pem,
            r.avatar_remote_url.clone(),
            r.header_remote_url.clone(),
            &r.also_known_as,
            r.moved_to_uri.clone(),
            r.moved_to_account_id,
            r.memorial,
            r.suspended,
            r.fetched_at
        ],
    )
    .await
}

/// Sets an account's aliases (`alsoKnownAs`, a JSON array of ids).
pub async fn set_also_known_as<'a>(ex: impl Exec<'a>, id: AccountId, json: &str) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET also_known_as = $2 WHERE id = $1",
        args![id, json],
    )
    .await
    .map(|_| ())
}

/// Records that `old` moved to `new` (its `moved_to_account_id`).
pub async fn set_moved_to<'a>(
    ex: impl Exec<'a>,
    old: AccountId,
    new: AccountId,
    new_uri: &str,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET moved_to_account_id = $2, moved_to_uri = $3 WHERE id = $1",
        args![old, new, new_uri],
    )
    .await
    .map(|_| ())
}

/// Upserts a remote custom emoji by (shortcode, domain).
pub async fn upsert_emoji<'a>(
    ex: impl Exec<'a>,
    id: i64,
    shortcode: &str,
    domain: &str,
    image_url: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO custom_emojis (id, shortcode, domain, image_url, static_image_url, \
         visible_in_picker, created_at) VALUES ($1, $2, $3, $4, $4, FALSE, $5) \
         ON CONFLICT (shortcode, COALESCE(domain, '')) \
         DO UPDATE SET image_url = excluded.image_url, static_image_url = excluded.image_url",
        args![id, shortcode, domain, image_url, now],
    )
    .await
    .map(|_| ())
}

/// A status by ActivityPub id.
pub async fn status_id_by_uri<'a>(ex: impl Exec<'a>, uri: &str) -> Result<Option<StatusId>> {
    Ok(
        sql::fetch_optional_scalar::<i64>(ex, "SELECT id FROM statuses WHERE uri = $1", args![uri])
            .await?
            .map(StatusId),
    )
}

/// Records that the object `uri` of `account` was deleted; `false` if known.
pub async fn insert_tombstone<'a>(
    ex: impl Exec<'a>,
    uri: &str,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO tombstones (uri, account_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (uri) DO NOTHING",
        args![uri, account, now],
    )
    .await
    .map(|n| n > 0)
}

/// Whether the object `uri` was deleted.
/// The status stored under `uri`, and whether a tombstone says it was
/// deleted (one round trip for both).
pub async fn status_or_tombstone<'a>(
    ex: impl Exec<'a>,
    uri: &str,
) -> Result<(Option<StatusId>, bool)> {
    let (id, tombstoned): (Option<i64>, bool) = sql::fetch_one(
        ex,
        "SELECT (SELECT id FROM statuses WHERE uri = $1), \
         EXISTS (SELECT 1 FROM tombstones WHERE uri = $1)",
        args![uri],
    )
    .await?;
    Ok((id.map(StatusId), tombstoned))
}

pub async fn is_tombstoned<'a>(ex: impl Exec<'a>, uri: &str) -> Result<bool> {
    let n: i64 = sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM tombstones WHERE uri = $1",
        args![uri],
    )
    .await?;
    Ok(n > 0)
}

/// One attachment of a remote status, known by its remote URL only.
#[derive(Debug, Clone)]
pub struct RemoteMediaRow {
    pub id: i64,
    pub account_id: AccountId,
    pub status_id: StatusId,
    pub position: i32,
    pub kind: String,
    pub content_type: String,
    pub remote_url: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub description: Option<String>,
    pub focus: Option<String>,
    pub blurhash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Inserts an attachment of a remote status (no file yet: `file_path` empty).
pub async fn insert_media<'a>(ex: impl Exec<'a>, m: &RemoteMediaRow) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO media_attachments (id, account_id, status_id, position, kind, content_type, \
         file_path, file_size, width, height, description, focus, blurhash, remote_url, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, '', 0, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![
            m.id,
            m.account_id,
            m.status_id,
            m.position,
            &m.kind,
            &m.content_type,
            m.width,
            m.height,
            m.description.clone(),
            m.focus.clone(),
            m.blurhash.clone(),
            &m.remote_url,
            m.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// Sets a remote poll's counts to what its server reports (`tallies`: a
/// JSON array of votes per option).
pub async fn set_poll_counts<'a>(
    ex: impl Exec<'a>,
    poll: i64,
    votes_count: i64,
    voters_count: i64,
    tallies: &str,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE polls SET votes_count = $2, voters_count = $3, remote_tallies = $4 WHERE id = $1",
        args![poll, votes_count, voters_count, tallies],
    )
    .await
    .map(|_| ())
}

/// The per-option counts of those of `polls` that are remote, as stored.
pub async fn remote_tallies<'a>(ex: impl Exec<'a>, polls: &[i64]) -> Result<Vec<(i64, String)>> {
    if polls.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, remote_tallies FROM polls WHERE remote_tallies IS NOT NULL AND id IN ({})",
        sql::placeholders(1, polls.len())
    );
    sql::fetch_all(ex, sql, polls.iter().map(|p| (*p).into()).collect()).await
}

/// Counts a local vote on a remote poll until its server reports the
/// counts again: `tallies` as they are now, `added` votes more, one voter
/// more when `new_voter`.
pub async fn count_local_vote<'a>(
    ex: impl Exec<'a>,
    poll: i64,
    tallies: &str,
    added: i64,
    new_voter: bool,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE polls SET remote_tallies = $2, votes_count = votes_count + $3, \
         voters_count = voters_count + $4 WHERE id = $1",
        args![poll, tallies, added, i64::from(new_voter)],
    )
    .await
    .map(|_| ())
}

/// Statuses of an account (for removing them all), newest first.
pub async fn status_ids_of<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT id FROM statuses WHERE account_id = $1 ORDER BY id DESC",
        args![account],
    )
    .await
}

/// Whether `account` has at least one remote follower.
pub async fn has_remote_followers<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<bool> {
    Ok(sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT f.id FROM follows f JOIN accounts a ON a.id = f.account_id \
         WHERE f.target_account_id = $1 AND a.domain IS NOT NULL LIMIT 1",
        args![account],
    )
    .await?
    .is_some())
}

/// Of `ids`, the remote accounts.
pub async fn remote_among<'a>(ex: impl Exec<'a>, ids: &[AccountId]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM accounts WHERE domain IS NOT NULL AND id IN ({})",
        sql::placeholders(1, ids.len())
    );
    sql::fetch_column(ex, sql, ids.iter().map(|i| i.0.into()).collect()).await
}

/// A follow request by the URI of its `Follow` activity.
pub async fn set_follow_uri<'a>(
    ex: impl Exec<'a>,
    request: bool,
    account: AccountId,
    target: AccountId,
    uri: &str,
) -> Result<()> {
    let table = if request {
        "follow_requests"
    } else {
        "follows"
    };
    sql::execute(
        ex,
        format!("UPDATE {table} SET uri = $3 WHERE account_id = $1 AND target_account_id = $2"),
        args![account, target, uri],
    )
    .await
    .map(|_| ())
}

/// Every account `account` follows, is followed by, or has a request with.
pub async fn follow_pairs_of<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT target_account_id FROM follows WHERE account_id = $1 \
         UNION SELECT account_id FROM follows WHERE target_account_id = $1 \
         UNION SELECT target_account_id FROM follow_requests WHERE account_id = $1 \
         UNION SELECT account_id FROM follow_requests WHERE target_account_id = $1",
        args![account],
    )
    .await
}

/// Payloads of the jobs of `kind` not yet run (tests and operators).
pub async fn pending_job_payloads<'a>(ex: impl Exec<'a>, kind: &str) -> Result<Vec<String>> {
    sql::fetch_column(
        ex,
        "SELECT payload FROM jobs WHERE kind = $1 AND dead_at IS NULL ORDER BY id",
        args![kind],
    )
    .await
}

/// How many notifications of `kind` `account` has, not filtered by its
/// notification policy (tests).
pub async fn notification_count<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    kind: &str,
) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND type = $2 \
         AND filtered = FALSE",
        args![account, kind],
    )
    .await
}
