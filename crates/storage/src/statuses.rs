//! Statuses (posts and reblogs), local and remote, and the timelines read from them.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, AppId, PageBounds, StatusId, Visibility};

use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

macro_rules! status_columns {
    () => {
        "s.id, s.uri, s.url, s.account_id, s.text, s.content, s.spoiler_text, s.sensitive, \
         s.visibility, s.language, s.in_reply_to_id, s.in_reply_to_account_id, s.reblog_of_id, \
         s.application_id, s.local, s.replies_count, s.reblogs_count, s.favourites_count, \
         s.created_at, s.updated_at, s.edited_at, s.quote_approval_policy, s.quotes_count"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Status {
    #[sqlx(try_from = "i64")]
    pub id: StatusId,
    pub uri: String,
    pub url: Option<String>,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    /// Source text as typed (local statuses).
    pub text: String,
    /// HTML.
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    visibility: i16,
    pub language: Option<String>,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_account_id: Option<i64>,
    pub reblog_of_id: Option<i64>,
    pub application_id: Option<i64>,
    pub local: bool,
    pub replies_count: i64,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// Who may quote it (Mastodon's bitmap: automatic approval << 16 | manual).
    pub quote_approval_policy: i32,
    /// Accepted quotes of it.
    pub quotes_count: i64,
}

impl Status {
    pub fn visibility(&self) -> Visibility {
        Visibility::from_i16(self.visibility)
    }
    pub fn reblog_of(&self) -> Option<StatusId> {
        self.reblog_of_id.map(StatusId)
    }
    pub fn in_reply_to(&self) -> Option<StatusId> {
        self.in_reply_to_id.map(StatusId)
    }
    pub fn in_reply_to_account(&self) -> Option<AccountId> {
        self.in_reply_to_account_id.map(AccountId)
    }
}

#[derive(Debug, Clone)]
pub struct NewStatus {
    pub id: StatusId,
    pub uri: String,
    pub url: Option<String>,
    pub account_id: AccountId,
    pub text: String,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub visibility: Visibility,
    pub language: Option<String>,
    pub in_reply_to_id: Option<StatusId>,
    pub in_reply_to_account_id: Option<AccountId>,
    pub reblog_of_id: Option<StatusId>,
    pub application_id: Option<AppId>,
    pub local: bool,
    pub created_at: DateTime<Utc>,
    /// Who may quote it (Mastodon's bitmap; 0 for reblogs).
    pub quote_approval_policy: i32,
}

pub async fn insert<'a>(ex: impl Exec<'a>, s: &NewStatus) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO statuses (id, uri, url, account_id, text, content, spoiler_text, sensitive, \
         visibility, language, in_reply_to_id, in_reply_to_account_id, reblog_of_id, \
         application_id, local, created_at, updated_at, quote_approval_policy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)",
        args![
            s.id,
            &s.uri,
            s.url.clone(),
            s.account_id,
            &s.text,
            &s.content,
            &s.spoiler_text,
            s.sensitive,
            s.visibility.as_i16(),
            s.language.clone(),
            s.in_reply_to_id,
            s.in_reply_to_account_id,
            s.reblog_of_id,
            s.application_id,
            s.local,
            s.created_at,
            s.quote_approval_policy
        ],
    )
    .await
    .map(|_| ())
}

/// Takes the status's row lock for the rest of the transaction (edits of
/// one status run one at a time). `false` if it is gone.
pub async fn lock<'a>(ex: impl Exec<'a>, id: StatusId) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE statuses SET updated_at = updated_at WHERE id = $1",
        args![id],
    )
    .await
    .map(|n| n > 0)
}

pub async fn get<'a>(ex: impl Exec<'a>, id: StatusId) -> Result<Option<Status>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            status_columns!(),
            " FROM statuses s WHERE s.id = $1"
        ),
        args![id],
    )
    .await
}

/// The statuses with these ids, in no particular order; missing ids are skipped.
pub async fn get_many<'a>(ex: impl Exec<'a>, ids: &[StatusId]) -> Result<Vec<Status>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} FROM statuses s WHERE s.id IN ({})",
        status_columns!(),
        placeholders(1, ids.len())
    );
    sql::fetch_all(ex, sql, ids.iter().map(|id| (*id).into()).collect()).await
}

/// Deletes a status; its mentions, tags, favourites and reblogs go with it.
pub async fn delete<'a>(ex: impl Exec<'a>, id: StatusId) -> Result<bool> {
    sql::execute(ex, "DELETE FROM statuses WHERE id = $1", args![id])
        .await
        .map(|n| n > 0)
}

/// Adds to the cached counters (never below 0).
pub async fn adjust_counts<'a>(
    ex: impl Exec<'a>,
    id: StatusId,
    replies: i64,
    reblogs: i64,
    favourites: i64,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE statuses SET \
         replies_count = CASE WHEN replies_count + $2 < 0 THEN 0 ELSE replies_count + $2 END, \
         reblogs_count = CASE WHEN reblogs_count + $3 < 0 THEN 0 ELSE reblogs_count + $3 END, \
         favourites_count = CASE WHEN favourites_count + $4 < 0 THEN 0 ELSE favourites_count + $4 END \
         WHERE id = $1",
        args![id, replies, reblogs, favourites],
    )
    .await
    .map(|_| ())
}

/// `account`'s reblog of `status`, if any.
pub async fn find_reblog<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    status: StatusId,
) -> Result<Option<Status>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            status_columns!(),
            " FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id = $2"
        ),
        args![account, status],
    )
    .await
}

/// Reblogs of `status` (id and reblogger), e.g. to clean up after deleting it.
pub async fn reblogs_of<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Vec<(i64, i64)>> {
    sql::fetch_all(
        ex,
        "SELECT id, account_id FROM statuses WHERE reblog_of_id = $1",
        args![status],
    )
    .await
}

/// Of `ids`, those `account` reblogged.
pub async fn reblogged_among<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    ids: &[StatusId],
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT reblog_of_id FROM statuses WHERE account_id = $1 AND reblog_of_id IN ({})",
        placeholders(2, ids.len())
    );
    let mut a = args![account];
    a.extend(ids.iter().map(|i| (*i).into()));
    sql::fetch_column(ex, sql, a).await
}

/// Whether `account` is mentioned in `status`.
pub async fn is_mentioned<'a>(
    ex: impl Exec<'a>,
    status: StatusId,
    account: AccountId,
) -> Result<bool> {
    sql::fetch_optional_scalar::<i64>(
        ex,
        "SELECT CAST(1 AS BIGINT) FROM mentions WHERE status_id = $1 AND account_id = $2",
        args![status, account],
    )
    .await
    .map(|r| r.is_some())
}

/// Records mentions of `accounts` in `status`.
pub async fn insert_mentions(
    tx: &mut crate::Tx,
    ids: &ferrodon_model::IdGenerator,
    status: StatusId,
    accounts: &[AccountId],
) -> Result<()> {
    for account in accounts {
        sql::execute(
            &mut *tx,
            "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            args![ids.next().0, status, *account],
        )
        .await?;
    }
    Ok(())
}

/// Records a silent mention of `account` in `status` (Mastodon's
/// `ensure_quoted_access`): it lets the account see the status but is not
/// shown, notified or counted as a participant. An existing mention stays as it is.
pub async fn insert_silent_mention<'a>(
    ex: impl Exec<'a>,
    id: i64,
    status: StatusId,
    account: AccountId,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO mentions (id, status_id, account_id, silent) VALUES ($1, $2, $3, TRUE) \
         ON CONFLICT DO NOTHING",
        args![id, status, account],
    )
    .await
    .map(|_| ())
}

/// Mentioned account ids per status, for these statuses (silent mentions left out).
pub async fn mentions_of<'a>(ex: impl Exec<'a>, statuses: &[StatusId]) -> Result<Vec<(i64, i64)>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT status_id, account_id FROM mentions WHERE silent = FALSE AND status_id IN ({}) \
         ORDER BY id",
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|i| (*i).into()).collect()).await
}

/// Who may read a list of statuses: appended to a `WHERE` on statuses `s`.
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    /// Anonymous or unrelated: public and unlisted, plus what mentions `viewer`.
    Anyone(Option<AccountId>),
    /// A follower of the author: also followers-only statuses.
    Follower(AccountId),
    /// The author: everything.
    Author,
}

fn push_audience(q: &mut Query, audience: Audience) {
    match audience {
        Audience::Author => {}
        Audience::Anyone(None) => q.push(" AND s.visibility IN (0, 1)"),
        Audience::Anyone(Some(viewer)) => {
            let p = q.bind(viewer);
            q.push(&format!(
                " AND (s.visibility IN (0, 1) OR EXISTS (SELECT 1 FROM mentions m \
                 WHERE m.status_id = s.id AND m.account_id = {p}))"
            ));
        }
        Audience::Follower(viewer) => {
            let p = q.bind(viewer);
            q.push(&format!(
                " AND (s.visibility IN (0, 1, 2) OR EXISTS (SELECT 1 FROM mentions m \
                 WHERE m.status_id = s.id AND m.account_id = {p}))"
            ));
        }
    }
}

async fn fetch_page<'a>(
    ex: impl Exec<'a>,
    mut q: Query,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    q.page("s.id", bounds);
    let mut rows: Vec<Status> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Options for an account's own timeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountTimeline {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    /// Only statuses with media attachments.
    pub only_media: bool,
}

/// Keeps only statuses with media attachments.
const WITH_MEDIA: &str =
    " AND EXISTS (SELECT 1 FROM media_attachments ma WHERE ma.status_id = s.id)";

/// An account's statuses that `audience` may see, newest first.
pub async fn by_account<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    audience: Audience,
    options: AccountTimeline,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    let mut q = Query::new(concat!(
        "SELECT ",
        status_columns!(),
        " FROM statuses s WHERE "
    ));
    let p = q.bind(account);
    q.push(&format!("s.account_id = {p}"));
    push_audience(&mut q, audience);
    if options.exclude_replies {
        // Mastodon keeps self-replies (threads) when replies are excluded.
        q.push(" AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)");
    }
    if options.exclude_reblogs {
        q.push(" AND s.reblog_of_id IS NULL");
    }
    if options.only_media {
        q.push(WITH_MEDIA);
    }
    fetch_page(ex, q, bounds).await
}

/// Where statuses on a public timeline come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locality {
    All,
    Local,
    Remote,
}

fn push_locality(q: &mut Query, locality: Locality) {
    match locality {
        Locality::All => {}
        Locality::Local => q.push(" AND s.local = TRUE"),
        Locality::Remote => q.push(" AND s.local = FALSE"),
    }
}

/// The public timeline: public, original (no reblogs), not replies to others.
pub async fn public<'a>(
    ex: impl Exec<'a>,
    locality: Locality,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    public_with(ex, locality, false, bounds).await
}

/// The public timeline, optionally only statuses with media.
pub async fn public_with<'a>(
    ex: impl Exec<'a>,
    locality: Locality,
    only_media: bool,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    let mut q = Query::new(concat!(
        "SELECT ",
        status_columns!(),
        " FROM statuses s WHERE s.visibility = 0 AND s.reblog_of_id IS NULL \
         AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)"
    ));
    push_locality(&mut q, locality);
    if only_media {
        q.push(WITH_MEDIA);
    }
    fetch_page(ex, q, bounds).await
}

/// Public statuses showing preview card `card`, by authors who opted into
/// discovery (Mastodon's `LinkFeed`), newest first.
pub async fn by_preview_card<'a>(
    ex: impl Exec<'a>,
    card: i64,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    let mut q = Query::new(concat!(
        "SELECT ",
        status_columns!(),
        " FROM statuses s JOIN preview_cards_statuses pcs ON pcs.status_id = s.id \
         JOIN accounts a ON a.id = s.account_id"
    ));
    let p = q.bind(card);
    q.push(&format!(
        " WHERE pcs.preview_card_id = {p} AND s.visibility = 0 AND s.reblog_of_id IS NULL \
         AND a.discoverable = TRUE AND a.suspended_at IS NULL"
    ));
    fetch_page(ex, q, bounds).await
}

/// Public statuses with a hashtag, newest first.
pub async fn by_tag<'a>(
    ex: impl Exec<'a>,
    tags: &TagQuery,
    locality: Locality,
    bounds: &PageBounds,
) -> Result<Vec<Status>> {
    let mut q = Query::new(concat!("SELECT ", status_columns!(), " FROM statuses s"));
    if let [only] = tags.any.as_slice() {
        // One tag: walk its (tag_id, status_id) index.
        let p = q.bind(*only);
        q.push(&format!(
            " JOIN statuses_tags st ON st.status_id = s.id AND st.tag_id = {p}"
        ));
    }
    q.push(" WHERE s.visibility = 0 AND s.reblog_of_id IS NULL");
    if tags.any.len() > 1 {
        let list = tags
            .any
            .iter()
            .map(|t| q.bind(*t))
            .collect::<Vec<_>>()
            .join(", ");
        q.push(&format!(
            " AND s.id IN (SELECT status_id FROM statuses_tags WHERE tag_id IN ({list}))"
        ));
    }
    for t in &tags.all {
        let p = q.bind(*t);
        q.push(&format!(
            " AND EXISTS (SELECT 1 FROM statuses_tags sa WHERE sa.status_id = s.id AND sa.tag_id = {p})"
        ));
    }
    if !tags.none.is_empty() {
        let list = tags
            .none
            .iter()
            .map(|t| q.bind(*t))
            .collect::<Vec<_>>()
            .join(", ");
        q.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM statuses_tags sn WHERE sn.status_id = s.id AND sn.tag_id IN ({list}))"
        ));
    }
    push_locality(&mut q, locality);
    if tags.only_media {
        q.push(WITH_MEDIA);
    }
    fetch_page(ex, q, bounds).await
}

/// Which tags a hashtag timeline wants: any of `any` (at least one), all of
/// `all`, none of `none`.
#[derive(Debug, Clone, Default)]
pub struct TagQuery {
    pub any: Vec<ferrodon_model::TagId>,
    pub all: Vec<ferrodon_model::TagId>,
    pub none: Vec<ferrodon_model::TagId>,
    /// Only statuses with media attachments.
    pub only_media: bool,
}

/// The home timeline straight from the database: what fan-out would have put
/// in `account`'s feed (own statuses, followed accounts' statuses and
/// reblogs, replies only among followed accounts, direct statuses that
/// mention `account`), leaving out members of `account`'s exclusive lists.
/// Used to rebuild a missing feed and to page past its end.
pub async fn home<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<(i64, Option<i64>)>> {
    let mut q = Query::new("SELECT s.id, s.reblog_of_id FROM statuses s WHERE ");
    let me = q.bind(account);
    // `account_id IN (…)` lets both engines walk the (account_id, id) index
    // per followed account instead of scanning every status.
    q.push(&format!(
        "s.account_id IN (SELECT target_account_id FROM follows WHERE account_id = {me} \
         UNION ALL SELECT {me}) \
         AND (s.reblog_of_id IS NULL OR s.account_id = {me} OR EXISTS (SELECT 1 FROM follows f \
         WHERE f.account_id = {me} AND f.target_account_id = s.account_id AND f.show_reblogs)) \
         AND (s.account_id = {me} OR s.visibility IN (0, 1, 2) OR EXISTS (SELECT 1 FROM mentions m \
         WHERE m.status_id = s.id AND m.account_id = {me})) \
         AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id \
         OR s.in_reply_to_account_id = {me} OR s.account_id = {me} OR EXISTS (SELECT 1 FROM follows f2 \
         WHERE f2.account_id = {me} AND f2.target_account_id = s.in_reply_to_account_id)) \
         AND NOT {exclusive}",
        exclusive = crate::lists::ON_EXCLUSIVE_LIST
            .replace("{author}", "s.account_id")
            .replace("{owner}", &me)
    ));
    q.page("s.id", bounds);
    let mut rows: Vec<(i64, Option<i64>)> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Ancestors of a status: the chain of `in_reply_to_id`, oldest first (at most `limit`).
pub async fn ancestors<'a>(ex: impl Exec<'a>, id: StatusId, limit: i64) -> Result<Vec<Status>> {
    let mut rows: Vec<Status> = sql::fetch_all(
        ex,
        concat!(
            "WITH RECURSIVE chain(id, depth) AS ( \
               SELECT in_reply_to_id, 1 FROM statuses WHERE id = $1 AND in_reply_to_id IS NOT NULL \
               UNION ALL \
               SELECT p.in_reply_to_id, c.depth + 1 FROM statuses p JOIN chain c ON p.id = c.id \
               WHERE p.in_reply_to_id IS NOT NULL AND c.depth < $2) \
             SELECT ",
            status_columns!(),
            " FROM statuses s JOIN chain c ON s.id = c.id ORDER BY c.depth DESC"
        ),
        args![id, limit],
    )
    .await?;
    rows.dedup_by_key(|s| s.id);
    Ok(rows)
}

/// Replies to a status and their replies, in id order (at most `limit`).
pub async fn descendants<'a>(ex: impl Exec<'a>, id: StatusId, limit: i64) -> Result<Vec<Status>> {
    sql::fetch_all(
        ex,
        concat!(
            "WITH RECURSIVE tree(id, depth) AS ( \
               SELECT id, 1 FROM statuses WHERE in_reply_to_id = $1 \
               UNION ALL \
               SELECT r.id, t.depth + 1 FROM statuses r JOIN tree t ON r.in_reply_to_id = t.id \
               WHERE t.depth < 64) \
             SELECT ",
            status_columns!(),
            " FROM statuses s WHERE s.id IN (SELECT id FROM tree) ORDER BY s.id LIMIT $2"
        ),
        args![id, limit],
    )
    .await
}

/// Number of local statuses (for the instance's figures).
pub async fn count_local<'a>(ex: impl Exec<'a>) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COUNT(*) FROM statuses WHERE local = TRUE AND reblog_of_id IS NULL",
        args![],
    )
    .await
}

/// What an edit changes on a status.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub text: String,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub edited_at: DateTime<Utc>,
}

/// Applies an edit.
pub async fn update_content<'a>(ex: impl Exec<'a>, id: StatusId, c: &StatusChange) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE statuses SET text = $2, content = $3, spoiler_text = $4, sensitive = $5, \
         language = $6, edited_at = $7, updated_at = $7 WHERE id = $1",
        args![
            id,
            &c.text,
            &c.content,
            &c.spoiler_text,
            c.sensitive,
            c.language.clone(),
            c.edited_at
        ],
    )
    .await
    .map(|_| ())
}

/// Makes `status` mention exactly `accounts`: mentions no longer in the text
/// become silent (as Mastodon's `UpdateStatusService`: who was told of the
/// status keeps seeing it), silent ones become real when mentioned again;
/// returns those newly mentioned.
pub async fn replace_mentions(
    tx: &mut crate::Tx,
    ids: &ferrodon_model::IdGenerator,
    status: StatusId,
    accounts: &[AccountId],
) -> Result<Vec<AccountId>> {
    let before: Vec<i64> = sql::fetch_column(
        &mut *tx,
        "SELECT account_id FROM mentions WHERE status_id = $1 AND silent = FALSE",
        args![status],
    )
    .await?;
    for old in &before {
        if !accounts.iter().any(|a| a.0 == *old) {
            sql::execute(
                &mut *tx,
                "UPDATE mentions SET silent = TRUE WHERE status_id = $1 AND account_id = $2",
                args![status, *old],
            )
            .await?;
        }
    }
    let added: Vec<AccountId> = accounts
        .iter()
        .filter(|a| !before.contains(&a.0))
        .copied()
        .collect();
    for account in &added {
        sql::execute(
            &mut *tx,
            "INSERT INTO mentions (id, status_id, account_id) VALUES ($1, $2, $3) \
             ON CONFLICT (status_id, account_id) DO UPDATE SET silent = FALSE",
            args![ids.next().0, status, *account],
        )
        .await?;
    }
    Ok(added)
}

/// Adds to the cached count of accepted quotes (never below 0).
pub async fn adjust_quotes_count<'a>(ex: impl Exec<'a>, id: StatusId, delta: i64) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE statuses SET quotes_count = \
         CASE WHEN quotes_count + $2 < 0 THEN 0 ELSE quotes_count + $2 END WHERE id = $1",
        args![id, delta],
    )
    .await
    .map(|_| ())
}

/// Sets who may quote a status; returns whether it changed.
pub async fn set_quote_approval_policy<'a>(
    ex: impl Exec<'a>,
    id: StatusId,
    policy: i32,
) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE statuses SET quote_approval_policy = $2 \
         WHERE id = $1 AND quote_approval_policy <> $2",
        args![id, policy],
    )
    .await
    .map(|n| n > 0)
}
