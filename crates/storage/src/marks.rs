//! Marks an account puts on a status: favourites, bookmarks and pins. The
//! three tables share one shape (`id, account_id, status_id, created_at`,
//! unique per account and status), so one set of functions serves them.

use ferrodon_model::{AccountId, PageBounds, StatusId};

use crate::accounts::account_columns;
use crate::sql::{self, Query, args, placeholders};
use crate::{Exec, Result};

/// Which mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Favourite,
    Bookmark,
    Pin,
}

impl Mark {
    fn table(self) -> &'static str {
        match self {
            Mark::Favourite => "favourites",
            Mark::Bookmark => "bookmarks",
            Mark::Pin => "status_pins",
        }
    }
}

/// Records a mark with id `id`; returns `false` if the account already had it.
pub async fn insert<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    id: i64,
    account: AccountId,
    status: StatusId,
) -> Result<bool> {
    let sql = format!(
        "INSERT INTO {} (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id, status_id) DO NOTHING",
        mark.table()
    );
    sql::execute(ex, sql, args![id, account, status, crate::now()])
        .await
        .map(|n| n > 0)
}

/// Deletes all but the `keep` newest marks of `account`.
pub async fn keep_newest<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    account: AccountId,
    keep: i64,
) -> Result<u64> {
    let sql = format!(
        "DELETE FROM {t} WHERE account_id = $1 AND id NOT IN \
         (SELECT id FROM {t} WHERE account_id = $1 ORDER BY id DESC LIMIT $2)",
        t = mark.table()
    );
    sql::execute(ex, sql, args![account, keep]).await
}

/// Removes a mark; returns its id if there was one.
pub async fn delete<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    account: AccountId,
    status: StatusId,
) -> Result<Option<i64>> {
    let sql = format!(
        "DELETE FROM {} WHERE account_id = $1 AND status_id = $2 RETURNING id",
        mark.table()
    );
    sql::fetch_optional_scalar(ex, sql, args![account, status]).await
}

/// Of `ids`, those `account` marked.
pub async fn among<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    account: AccountId,
    ids: &[StatusId],
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT status_id FROM {} WHERE account_id = $1 AND status_id IN ({})",
        mark.table(),
        placeholders(2, ids.len())
    );
    let mut a = args![account];
    a.extend(ids.iter().map(|i| (*i).into()));
    sql::fetch_column(ex, sql, a).await
}

/// How many statuses `account` marked.
pub async fn count<'a>(ex: impl Exec<'a>, mark: Mark, account: AccountId) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE account_id = $1",
        mark.table()
    );
    sql::fetch_scalar(ex, sql, args![account]).await
}

/// A page of `account`'s marks, newest first: (mark id, status id).
pub async fn statuses<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    account: AccountId,
    bounds: &PageBounds,
) -> Result<Vec<(i64, i64)>> {
    let mut q = Query::new(format!(
        "SELECT m.id, m.status_id FROM {} m WHERE m.account_id = ",
        mark.table()
    ));
    let p = q.bind(account);
    q.push(&p);
    q.page("m.id", bounds);
    let mut rows: Vec<(i64, i64)> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// A page of the accounts that marked `status`, newest mark first, with the mark id.
pub async fn accounts<'a>(
    ex: impl Exec<'a>,
    mark: Mark,
    status: StatusId,
    bounds: &PageBounds,
) -> Result<Vec<crate::follows::Listed>> {
    let mut q = Query::new(format!(
        "SELECT m.id AS follow_id, {} FROM {} m JOIN accounts a ON a.id = m.account_id \
         WHERE a.suspended_at IS NULL AND m.status_id = ",
        account_columns!(),
        mark.table()
    ));
    let p = q.bind(status);
    q.push(&p);
    q.page("m.id", bounds);
    let mut rows: Vec<crate::follows::Listed> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Accounts that reblogged `status`, newest first, with the reblog's id.
pub async fn rebloggers<'a>(
    ex: impl Exec<'a>,
    status: StatusId,
    bounds: &PageBounds,
) -> Result<Vec<crate::follows::Listed>> {
    let mut q = Query::new(format!(
        "SELECT s.id AS follow_id, {} FROM statuses s JOIN accounts a ON a.id = s.account_id \
         WHERE a.suspended_at IS NULL AND s.reblog_of_id = ",
        account_columns!()
    ));
    let p = q.bind(status);
    q.push(&p);
    q.page("s.id", bounds);
    let mut rows: Vec<crate::follows::Listed> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}
