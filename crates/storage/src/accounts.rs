//! Accounts, local and remote, in one table (as Mastodon keeps them).

use chrono::{DateTime, Utc};
use ferrodon_model::AccountId;

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

/// Columns of [`Account`], for `SELECT`s that alias the table as `a`.
macro_rules! account_columns {
    () => {
        "a.id, a.username, a.domain, a.display_name, a.note, a.note_source, a.fields, a.locked, \
         a.bot, a.discoverable, a.indexable, a.hide_collections, a.uri, a.url, a.inbox_url, \
         a.shared_inbox_url, a.outbox_url, a.followers_url, a.featured_url, a.also_known_as, a.moved_to_uri, a.public_key_pem, a.avatar_remote_url, \
         a.header_remote_url, a.statuses_count, a.followers_count, a.following_count, \
         a.last_status_at, a.suspended_at, a.silenced_at, a.created_at, a.updated_at, a.avatar_file, a.header_file"
    };
}
pub(crate) use account_columns;

/// A stored account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    #[sqlx(try_from = "i64")]
    pub id: AccountId,
    pub username: String,
    /// `None` for local accounts.
    pub domain: Option<String>,
    pub display_name: String,
    /// Profile text as HTML.
    pub note: String,
    /// Profile text as the owner typed it (local accounts).
    pub note_source: String,
    /// Profile fields as JSON: `[{"name", "value"}]`.
    pub fields: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub hide_collections: bool,
    /// ActivityPub id.
    pub uri: String,
    /// Profile page.
    pub url: Option<String>,
    pub inbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub outbox_url: Option<String>,
    pub followers_url: Option<String>,
    /// A remote actor's `featured` collection (its pins).
    pub featured_url: Option<String>,
    /// The account's other ActivityPub ids (`alsoKnownAs`), a JSON array:
    /// the accounts it may move from.
    pub also_known_as: String,
    /// The ActivityPub id of the account it moved to.
    pub moved_to_uri: Option<String>,
    pub public_key_pem: String,
    pub avatar_remote_url: Option<String>,
    pub header_remote_url: Option<String>,
    pub statuses_count: i64,
    pub followers_count: i64,
    pub following_count: i64,
    pub last_status_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    /// Silenced (limited) by a moderator: left out of public timelines and trends.
    pub silenced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A local avatar: a path under the media directory.
    pub avatar_file: Option<String>,
    /// A local header image: a path under the media directory.
    pub header_file: Option<String>,
}

impl Account {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }
}

/// What a new local account starts with.
#[derive(Debug, Clone)]
pub struct NewLocalAccount {
    pub id: AccountId,
    pub username: String,
    pub uri: String,
    pub url: String,
    pub inbox_url: String,
    pub shared_inbox_url: String,
    pub outbox_url: String,
    pub followers_url: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_local<'a>(ex: impl Exec<'a>, new: &NewLocalAccount) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO accounts (id, username, domain, uri, url, inbox_url, shared_inbox_url, \
         outbox_url, followers_url, created_at, updated_at) \
         VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $9)",
        args![
            new.id,
            &new.username,
            &new.uri,
            &new.url,
            &new.inbox_url,
            &new.shared_inbox_url,
            &new.outbox_url,
            &new.followers_url,
            new.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// What a remote account is stored with (federation fills these from the actor).
#[derive(Debug, Clone)]
pub struct NewRemoteAccount {
    pub id: AccountId,
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note: String,
    pub uri: String,
    pub url: Option<String>,
    pub inbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub public_key_pem: String,
    pub locked: bool,
    pub bot: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_remote<'a>(ex: impl Exec<'a>, new: &NewRemoteAccount) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO accounts (id, username, domain, display_name, note, uri, url, inbox_url, \
         shared_inbox_url, public_key_pem, locked, bot, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![
            new.id,
            &new.username,
            &new.domain,
            &new.display_name,
            &new.note,
            &new.uri,
            new.url.clone(),
            new.inbox_url.clone(),
            new.shared_inbox_url.clone(),
            &new.public_key_pem,
            new.locked,
            new.bot,
            new.created_at
        ],
    )
    .await
    .map(|_| ())
}

pub async fn get<'a>(ex: impl Exec<'a>, id: AccountId) -> Result<Option<Account>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a WHERE a.id = $1"
        ),
        args![id],
    )
    .await
}

/// The accounts with these ids (in no particular order; missing ids are skipped).
pub async fn get_many<'a>(ex: impl Exec<'a>, ids: &[AccountId]) -> Result<Vec<Account>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} FROM accounts a WHERE a.id IN ({})",
        account_columns!(),
        placeholders(1, ids.len())
    );
    sql::fetch_all(ex, sql, ids.iter().map(|id| (*id).into()).collect()).await
}

/// An account by `username` (case-insensitive) and domain (`None` = local).
pub async fn find_by_username<'a>(
    ex: impl Exec<'a>,
    username: &str,
    domain: Option<&str>,
) -> Result<Option<Account>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts a WHERE lower(a.username) = lower($1) \
             AND COALESCE(lower(a.domain), '') = COALESCE(lower($2), '')"
        ),
        args![username, domain],
    )
    .await
}

/// Profile changes a local account's owner may make; `None` leaves a value alone.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub note_source: Option<String>,
    pub fields: Option<String>,
    pub locked: Option<bool>,
    pub bot: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
}

pub async fn update_profile<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    update: &ProfileUpdate,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET \
         display_name = COALESCE($2, display_name), note = COALESCE($3, note), \
         note_source = COALESCE($4, note_source), fields = COALESCE($5, fields), \
         locked = COALESCE($6, locked), bot = COALESCE($7, bot), \
         discoverable = COALESCE($8, discoverable), indexable = COALESCE($9, indexable), \
         hide_collections = COALESCE($10, hide_collections), updated_at = $11 \
         WHERE id = $1",
        args![
            id,
            update.display_name.clone(),
            update.note.clone(),
            update.note_source.clone(),
            update.fields.clone(),
            update.locked,
            update.bot,
            update.discoverable,
            update.indexable,
            update.hide_collections,
            at
        ],
    )
    .await
    .map(|_| ())
}

/// Adds to the cached counters (deltas may be negative; counters never go below 0).
/// Which profile image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileImage {
    Avatar,
    Header,
}

/// Sets (or clears) a local account's avatar or header file.
pub async fn set_image<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    which: ProfileImage,
    path: Option<&str>,
) -> Result<()> {
    let sql = match which {
        ProfileImage::Avatar => {
            "UPDATE accounts SET avatar_file = $2, updated_at = $3 WHERE id = $1"
        }
        ProfileImage::Header => {
            "UPDATE accounts SET header_file = $2, updated_at = $3 WHERE id = $1"
        }
    };
    sql::execute(ex, sql, args![id, path, crate::now()])
        .await
        .map(|_| ())
}

pub async fn adjust_counts<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    statuses: i64,
    followers: i64,
    following: i64,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET \
         statuses_count = CASE WHEN statuses_count + $2 < 0 THEN 0 ELSE statuses_count + $2 END, \
         followers_count = CASE WHEN followers_count + $3 < 0 THEN 0 ELSE followers_count + $3 END, \
         following_count = CASE WHEN following_count + $4 < 0 THEN 0 ELSE following_count + $4 END \
         WHERE id = $1",
        args![id, statuses, followers, following],
    )
    .await
    .map(|_| ())
}

pub async fn set_last_status_at<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE accounts SET last_status_at = $2 WHERE id = $1",
        args![id, at],
    )
    .await
    .map(|_| ())
}

/// Number of local accounts (for the instance's usage figures).
pub async fn count_local<'a>(ex: impl Exec<'a>) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM accounts WHERE domain IS NULL AND suspended_at IS NULL",
        args![],
    )
    .await
}

/// Number of distinct remote domains with accounts here.
pub async fn count_domains<'a>(ex: impl Exec<'a>) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(DISTINCT domain) FROM accounts WHERE domain IS NOT NULL",
        args![],
    )
    .await
}

/// What a moderator sets on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanction {
    /// Hidden with everything it wrote; its tokens stop working.
    Suspended,
    /// Limited: out of public timelines and trends.
    Silenced,
}

/// Sets a sanction on an account (`Some(time)`) or lifts it (`None`).
pub async fn set_sanction<'a>(
    ex: impl Exec<'a>,
    id: AccountId,
    sanction: Sanction,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    let sql = match sanction {
        Sanction::Suspended => {
            "UPDATE accounts SET suspended_at = $2, updated_at = $3 WHERE id = $1"
        }
        Sanction::Silenced => "UPDATE accounts SET silenced_at = $2, updated_at = $3 WHERE id = $1",
    };
    sql::execute(ex, sql, args![id, at, crate::now()])
        .await
        .map(|_| ())
}
