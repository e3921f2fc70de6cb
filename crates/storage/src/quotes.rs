//! Quote posts (Mastodon 4.5): which status quotes which, and in what state.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds, StatusId};

use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

/// Where a quote stands (Mastodon's `Quote#state`, same numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteState {
    /// Waiting for the quoted author's approval (remote quoted statuses).
    Pending,
    Accepted,
    Rejected,
    /// Accepted, then withdrawn by the quoted author.
    Revoked,
    Deleted,
}

impl QuoteState {
    pub fn from_i16(v: i16) -> QuoteState {
        match v {
            1 => QuoteState::Accepted,
            2 => QuoteState::Rejected,
            3 => QuoteState::Revoked,
            4 => QuoteState::Deleted,
            _ => QuoteState::Pending,
        }
    }

    pub fn as_i16(self) -> i16 {
        match self {
            QuoteState::Pending => 0,
            QuoteState::Accepted => 1,
            QuoteState::Rejected => 2,
            QuoteState::Revoked => 3,
            QuoteState::Deleted => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuoteState::Pending => "pending",
            QuoteState::Accepted => "accepted",
            QuoteState::Rejected => "rejected",
            QuoteState::Revoked => "revoked",
            QuoteState::Deleted => "deleted",
        }
    }
}

macro_rules! quote_columns {
    () => {
        "q.id, q.status_id, q.account_id, q.quoted_status_id, q.quoted_account_id, q.state, \
         q.activity_uri, q.approval_uri, q.legacy, q.created_at, q.updated_at"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Quote {
    pub id: i64,
    /// The quoting status.
    #[sqlx(try_from = "i64")]
    pub status_id: StatusId,
    /// Its author.
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    /// `None` once the quoted status is deleted.
    pub quoted_status_id: Option<i64>,
    pub quoted_account_id: Option<i64>,
    state: i16,
    /// The `QuoteRequest` activity (a local quote of a remote status).
    pub activity_uri: Option<String>,
    /// The `QuoteAuthorization` of a remote quoted author.
    pub approval_uri: Option<String>,
    /// Recorded from a quote without an approval (older servers).
    pub legacy: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Quote {
    pub fn state(&self) -> QuoteState {
        QuoteState::from_i16(self.state)
    }
    pub fn quoted_status(&self) -> Option<StatusId> {
        self.quoted_status_id.map(StatusId)
    }
}

/// A quote together with the quote of the status it quotes (for the
/// `ShallowQuote` shown inside a quoted status).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QuoteRow {
    #[sqlx(flatten)]
    pub quote: Quote,
    pub nested_quoted_status_id: Option<i64>,
    pub nested_state: Option<i16>,
}

impl QuoteRow {
    /// The nested quote's quoted status and state, if the quoted status quotes one.
    pub fn nested(&self) -> Option<(Option<StatusId>, QuoteState)> {
        self.nested_state.map(|s| {
            (
                self.nested_quoted_status_id.map(StatusId),
                QuoteState::from_i16(s),
            )
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewQuote {
    pub id: i64,
    pub status_id: StatusId,
    pub account_id: AccountId,
    pub quoted_status_id: StatusId,
    pub quoted_account_id: AccountId,
    pub state: QuoteState,
    pub created_at: DateTime<Utc>,
}

pub async fn insert<'a>(ex: impl Exec<'a>, q: &NewQuote) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO quotes (id, status_id, account_id, quoted_status_id, quoted_account_id, \
         state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        args![
            q.id,
            q.status_id,
            q.account_id,
            q.quoted_status_id,
            q.quoted_account_id,
            q.state.as_i16(),
            q.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// A quote by id.
pub async fn by_id<'a>(ex: impl Exec<'a>, id: i64) -> Result<Option<Quote>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            quote_columns!(),
            " FROM quotes q WHERE q.id = $1"
        ),
        args![id],
    )
    .await
}

/// Records the `QuoteRequest` a quote was asked for with.
pub async fn set_activity_uri<'a>(ex: impl Exec<'a>, id: i64, uri: &str) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE quotes SET activity_uri = $2 WHERE id = $1",
        args![id, uri],
    )
    .await
    .map(|_| ())
}

/// The quote `status` makes, if any.
pub async fn of_status<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Option<Quote>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            quote_columns!(),
            " FROM quotes q WHERE q.status_id = $1"
        ),
        args![status],
    )
    .await
}

/// Deletes the quote `status` makes (before the status goes) and returns it.
pub async fn delete_of_status<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Option<Quote>> {
    sql::fetch_optional(
        ex,
        "DELETE FROM quotes WHERE status_id = $1 RETURNING id, status_id, account_id, \
         quoted_status_id, quoted_account_id, state, activity_uri, approval_uri, legacy, \
         created_at, updated_at",
        args![status],
    )
    .await
}

/// The quote of `quoted` made by status `quoting`, if any.
pub async fn find<'a>(
    ex: impl Exec<'a>,
    quoted: StatusId,
    quoting: StatusId,
) -> Result<Option<Quote>> {
    sql::fetch_optional(
        ex,
        concat!(
            "SELECT ",
            quote_columns!(),
            " FROM quotes q WHERE q.quoted_status_id = $1 AND q.status_id = $2"
        ),
        args![quoted, quoting],
    )
    .await
}

/// The quotes these statuses make, each with the quote its quoted status
/// makes in turn (one query for a page).
pub async fn of_statuses<'a>(ex: impl Exec<'a>, statuses: &[StatusId]) -> Result<Vec<QuoteRow>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {}, nq.quoted_status_id AS nested_quoted_status_id, nq.state AS nested_state \
         FROM quotes q LEFT JOIN quotes nq ON nq.status_id = q.quoted_status_id \
         WHERE q.status_id IN ({})",
        quote_columns!(),
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|s| (*s).into()).collect()).await
}

/// Moves a quote to `state`; returns whether it changed.
pub async fn set_state<'a>(
    ex: impl Exec<'a>,
    id: i64,
    state: QuoteState,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE quotes SET state = $2, updated_at = $3 WHERE id = $1 AND state <> $2",
        args![id, state.as_i16(), now],
    )
    .await
    .map(|n| n > 0)
}

/// A page of the accepted quotes of `quoted`, newest first: (quote id,
/// quoting status id), paged by quote id.
pub async fn accepted_page<'a>(
    ex: impl Exec<'a>,
    quoted: StatusId,
    bounds: &PageBounds,
) -> Result<Vec<(i64, i64)>> {
    let mut q = Query::new("SELECT q.id, q.status_id FROM quotes q WHERE q.quoted_status_id = ");
    let p = q.bind(quoted);
    q.push(&p);
    let accepted = q.bind(QuoteState::Accepted.as_i16());
    q.push(&format!(" AND q.state = {accepted}"));
    q.page("q.id", bounds);
    let mut rows: Vec<(i64, i64)> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// The accepted quotes of `quoted`: (quoting status id, its author).
pub async fn accepted_quoters<'a>(ex: impl Exec<'a>, quoted: StatusId) -> Result<Vec<(i64, i64)>> {
    sql::fetch_all(
        ex,
        "SELECT status_id, account_id FROM quotes WHERE quoted_status_id = $1 AND state = $2",
        args![quoted, QuoteState::Accepted.as_i16()],
    )
    .await
}

/// Follows between `viewer` and these accounts, either way:
/// (follower, followed) pairs.
pub async fn follows_with<'a>(
    ex: impl Exec<'a>,
    viewer: AccountId,
    accounts: &[AccountId],
) -> Result<Vec<(i64, i64)>> {
    if accounts.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(2, accounts.len());
    let sql = format!(
        "SELECT account_id, target_account_id FROM follows \
         WHERE (account_id = $1 AND target_account_id IN ({list})) \
         OR (target_account_id = $1 AND account_id IN ({list}))"
    );
    let mut a = args![viewer];
    a.extend(accounts.iter().map(|x| (*x).into()));
    sql::fetch_all(ex, sql, a).await
}
