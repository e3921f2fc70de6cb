//! Polls, their votes, and the revisions of edited statuses.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

const POLL_COLUMNS: &str = "id, status_id, account_id, expires_at, options, multiple, hide_totals, \
     votes_count, voters_count, last_fetched_at, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Poll {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub status_id: StatusId,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    pub expires_at: Option<DateTime<Utc>>,
    /// A JSON array of the option titles.
    pub options: String,
    pub multiple: bool,
    pub hide_totals: bool,
    pub votes_count: i64,
    pub voters_count: i64,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Poll {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// A poll to store (options as a JSON array).
#[derive(Debug, Clone)]
pub struct NewPoll {
    pub id: i64,
    pub status_id: StatusId,
    pub account_id: AccountId,
    pub expires_at: DateTime<Utc>,
    pub options: String,
    pub multiple: bool,
    pub hide_totals: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn insert<'a>(ex: impl Exec<'a>, p: &NewPoll) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO polls (id, status_id, account_id, expires_at, options, multiple, hide_totals, \
         votes_count, voters_count, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $8)",
        args![
            p.id,
            p.status_id,
            p.account_id,
            p.expires_at,
            &p.options,
            p.multiple,
            p.hide_totals,
            p.created_at
        ],
    )
    .await
    .map(|_| ())
}

pub async fn get<'a>(ex: impl Exec<'a>, id: i64) -> Result<Option<Poll>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {POLL_COLUMNS} FROM polls WHERE id = $1"),
        args![id],
    )
    .await
}

/// The poll of a status, if it has one.
pub async fn of_status<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Option<Poll>> {
    sql::fetch_optional(
        ex,
        format!("SELECT {POLL_COLUMNS} FROM polls WHERE status_id = $1"),
        args![status],
    )
    .await
}

/// The polls of these statuses (in no particular order).
pub async fn of_statuses<'a>(ex: impl Exec<'a>, statuses: &[StatusId]) -> Result<Vec<Poll>> {
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {POLL_COLUMNS} FROM polls WHERE status_id IN ({})",
        placeholders(1, statuses.len())
    );
    sql::fetch_all(ex, sql, statuses.iter().map(|s| (*s).into()).collect()).await
}

/// Votes per (poll, choice) for these polls.
pub async fn tallies<'a>(ex: impl Exec<'a>, polls: &[i64]) -> Result<Vec<(i64, i64, i64)>> {
    if polls.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT poll_id, choice, COUNT(*) FROM poll_votes WHERE poll_id IN ({}) \
         GROUP BY poll_id, choice",
        placeholders(1, polls.len())
    );
    sql::fetch_all(ex, sql, polls.iter().map(|p| (*p).into()).collect()).await
}

/// `account`'s choices in these polls, as (poll, choice), in choice order.
pub async fn votes_of<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    polls: &[i64],
) -> Result<Vec<(i64, i64)>> {
    if polls.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT poll_id, choice FROM poll_votes WHERE account_id = $1 AND poll_id IN ({}) \
         ORDER BY poll_id, choice",
        placeholders(2, polls.len())
    );
    let mut a = args![account];
    a.extend(polls.iter().map(|p| (*p).into()));
    sql::fetch_all(ex, sql, a).await
}

/// Takes the poll's row lock for the rest of the transaction (votes on one
/// poll are counted one transaction at a time). `false` if it is gone.
pub async fn lock<'a>(ex: impl Exec<'a>, poll: i64, now: DateTime<Utc>) -> Result<bool> {
    sql::execute(
        ex,
        "UPDATE polls SET updated_at = $2 WHERE id = $1",
        args![poll, now],
    )
    .await
    .map(|n| n > 0)
}

/// Records one chosen option; `false` if `account` already chose it.
pub async fn add_vote<'a>(
    ex: impl Exec<'a>,
    id: i64,
    poll: i64,
    account: AccountId,
    choice: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO poll_votes (id, poll_id, account_id, choice, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        args![id, poll, account, choice, now],
    )
    .await
    .map(|n| n > 0)
}

/// Sets the cached counters from the votes: all chosen options, and distinct voters.
pub async fn recount<'a>(ex: impl Exec<'a>, poll: i64) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE polls SET \
         votes_count = (SELECT COUNT(*) FROM poll_votes WHERE poll_id = $1), \
         voters_count = (SELECT COUNT(DISTINCT account_id) FROM poll_votes WHERE poll_id = $1) \
         WHERE id = $1",
        args![poll],
    )
    .await
    .map(|_| ())
}

/// Replaces what an edit may change.
pub async fn update<'a>(
    ex: impl Exec<'a>,
    poll: i64,
    options: &str,
    multiple: bool,
    hide_totals: bool,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE polls SET options = $2, multiple = $3, hide_totals = $4, expires_at = $5, \
         updated_at = $6 WHERE id = $1",
        args![poll, options, multiple, hide_totals, expires_at, now],
    )
    .await
    .map(|_| ())
}

/// Deletes every vote and zeroes the counters.
pub async fn reset_votes(tx: &mut crate::Tx, poll: i64) -> Result<()> {
    sql::execute(
        &mut *tx,
        "DELETE FROM poll_votes WHERE poll_id = $1",
        args![poll],
    )
    .await?;
    sql::execute(
        &mut *tx,
        "UPDATE polls SET votes_count = 0, voters_count = 0 WHERE id = $1",
        args![poll],
    )
    .await
    .map(|_| ())
}

pub async fn delete<'a>(ex: impl Exec<'a>, poll: i64) -> Result<bool> {
    sql::execute(ex, "DELETE FROM polls WHERE id = $1", args![poll])
        .await
        .map(|n| n > 0)
}

/// Accounts that voted in a poll, in id order.
pub async fn voters<'a>(ex: impl Exec<'a>, poll: i64) -> Result<Vec<i64>> {
    sql::fetch_column(
        ex,
        "SELECT DISTINCT account_id FROM poll_votes WHERE poll_id = $1 ORDER BY account_id",
        args![poll],
    )
    .await
}

/// One revision of a status.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusEdit {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub status_id: StatusId,
    pub account_id: Option<i64>,
    pub text: String,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// A JSON array of the poll's option titles, if it had a poll.
    pub poll_options: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_edit<'a>(ex: impl Exec<'a>, e: &StatusEdit) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO status_edits (id, status_id, account_id, text, content, spoiler_text, \
         sensitive, poll_options, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            e.id,
            e.status_id,
            e.account_id,
            &e.text,
            &e.content,
            &e.spoiler_text,
            e.sensitive,
            e.poll_options.clone(),
            e.created_at
        ],
    )
    .await
    .map(|_| ())
}

/// A status's revisions, oldest first.
pub async fn edits_of<'a>(ex: impl Exec<'a>, status: StatusId) -> Result<Vec<StatusEdit>> {
    sql::fetch_all(
        ex,
        "SELECT id, status_id, account_id, text, content, spoiler_text, sensitive, poll_options, \
         created_at FROM status_edits WHERE status_id = $1 ORDER BY id",
        args![status],
    )
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::statuses::{self, NewStatus};
    use crate::testing::{local_account, storage_test};

    async fn status(db: &crate::Db, author: AccountId) -> StatusId {
        let id = StatusId(rand::random::<i64>().abs());
        statuses::insert(
            db,
            &NewStatus {
                id,
                uri: format!("https://x.example/s/{}", id.0),
                url: None,
                account_id: author,
                text: "q?".into(),
                content: "<p>q?</p>".into(),
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
        id
    }

    storage_test!(
        votes_are_counted_per_option_and_voter,
        |db: crate::Db| async move {
            let author = local_account(&db).await;
            let (a, b) = (local_account(&db).await, local_account(&db).await);
            let s = status(&db, author).await;
            let now = crate::now();
            let poll_id = rand::random::<i64>().abs();
            insert(
                &db,
                &NewPoll {
                    id: poll_id,
                    status_id: s,
                    account_id: author,
                    expires_at: now + chrono::Duration::hours(1),
                    options: r#"["x","y","z"]"#.into(),
                    multiple: true,
                    hide_totals: false,
                    created_at: now,
                },
            )
            .await
            .unwrap();
            let mut tx = db.begin().await.unwrap();
            assert!(lock(&mut tx, poll_id, now).await.unwrap());
            assert!(add_vote(&mut tx, 1, poll_id, a, 0, now).await.unwrap());
            assert!(add_vote(&mut tx, 2, poll_id, a, 2, now).await.unwrap());
            assert!(!add_vote(&mut tx, 3, poll_id, a, 2, now).await.unwrap());
            assert!(add_vote(&mut tx, 4, poll_id, b, 2, now).await.unwrap());
            recount(&mut tx, poll_id).await.unwrap();
            tx.commit().await.unwrap();
            let poll = of_status(&db, s).await.unwrap().unwrap();
            assert_eq!((poll.votes_count, poll.voters_count), (3, 2));
            let mut t = tallies(&db, &[poll_id]).await.unwrap();
            t.sort();
            assert_eq!(t, vec![(poll_id, 0, 1), (poll_id, 2, 2)]);
            assert_eq!(
                votes_of(&db, a, &[poll_id]).await.unwrap(),
                vec![(poll_id, 0), (poll_id, 2)]
            );
            let mut voters_now = voters(&db, poll_id).await.unwrap();
            voters_now.sort();
            let mut expected = vec![a.0, b.0];
            expected.sort();
            assert_eq!(voters_now, expected);

            let mut tx = db.begin().await.unwrap();
            reset_votes(&mut tx, poll_id).await.unwrap();
            tx.commit().await.unwrap();
            let poll = get(&db, poll_id).await.unwrap().unwrap();
            assert_eq!((poll.votes_count, poll.voters_count), (0, 0));
            assert!(tallies(&db, &[poll_id]).await.unwrap().is_empty());
            // An expiry in the past reads as expired.
            update(
                &db,
                poll_id,
                r#"["x","y"]"#,
                false,
                true,
                now - chrono::Duration::seconds(1),
                now,
            )
            .await
            .unwrap();
            let poll = get(&db, poll_id).await.unwrap().unwrap();
            assert!(poll.expired(crate::now()));
            assert!(poll.hide_totals && !poll.multiple);
            // Deleting the status deletes its poll.
            statuses::delete(&db, s).await.unwrap();
            assert!(get(&db, poll_id).await.unwrap().is_none());
        }
    );

    storage_test!(edits_come_back_oldest_first, |db: crate::Db| async move {
        let author = local_account(&db).await;
        let s = status(&db, author).await;
        for (id, text) in [(10, "one"), (20, "two")] {
            insert_edit(
                &db,
                &StatusEdit {
                    id,
                    status_id: s,
                    account_id: Some(author.0),
                    text: text.into(),
                    content: format!("<p>{text}</p>"),
                    spoiler_text: String::new(),
                    sensitive: false,
                    poll_options: (id == 20).then(|| r#"["a","b"]"#.to_owned()),
                    created_at: crate::now(),
                },
            )
            .await
            .unwrap();
        }
        let edits = edits_of(&db, s).await.unwrap();
        assert_eq!(
            edits.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            vec!["one", "two"]
        );
        assert_eq!(edits[1].poll_options.as_deref(), Some(r#"["a","b"]"#));
    });
}
