//! Notifications and markers.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, PageBounds};

use crate::sql::{self, Query, args};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    #[sqlx(try_from = "i64")]
    pub account_id: AccountId,
    #[sqlx(try_from = "i64")]
    pub from_account_id: AccountId,
    /// `mention`, `status`, `reblog`, `follow`, `follow_request`, `favourite`, …
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The favourite, follow, follow request or status that caused it.
    pub activity_id: i64,
    /// The status it is about, if any.
    pub status_id: Option<i64>,
    /// `None` for notifications that are not grouped.
    pub group_key: Option<String>,
    pub filtered: bool,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "n.id, n.account_id, n.from_account_id, n.type, n.activity_id, n.status_id, \
     n.group_key, n.filtered, n.created_at";

/// Stores a notification; `false` when the same (recipient, activity, type) exists.
pub async fn insert<'a>(ex: impl Exec<'a>, n: &Notification) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO notifications (id, account_id, from_account_id, type, activity_id, status_id, \
         group_key, filtered, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT DO NOTHING",
        args![
            n.id,
            n.account_id,
            n.from_account_id,
            &n.kind,
            n.activity_id,
            n.status_id,
            n.group_key.clone(),
            n.filtered,
            n.created_at
        ],
    )
    .await
    .map(|n| n > 0)
}

/// The newest group key of `account` that starts with `prefix-`.
pub async fn latest_group_key<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    prefix: &str,
) -> Result<Option<String>> {
    let like = format!(
        "{}-%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    sql::fetch_optional_scalar(
        ex,
        "SELECT group_key FROM notifications WHERE account_id = $1 AND group_key LIKE $2 ESCAPE '\\' \
         ORDER BY id DESC LIMIT 1",
        args![account, like],
    )
    .await
}

/// Which notifications a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these types (`None`: all).
    pub types: Option<Vec<String>>,
    pub exclude_types: Vec<String>,
    pub from_account: Option<AccountId>,
    pub include_filtered: bool,
}

fn push_filter(q: &mut Query, account: AccountId, filter: &Filter) {
    let me = q.bind(account);
    q.push(&format!(
        " WHERE n.account_id = {me} AND NOT EXISTS (SELECT 1 FROM accounts fa \
         WHERE fa.id = n.from_account_id AND fa.suspended_at IS NOT NULL)"
    ));
    if !filter.include_filtered {
        q.push(" AND n.filtered = FALSE");
    }
    if let Some(types) = &filter.types {
        if types.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            let list: Vec<String> = types.iter().map(|t| q.bind(t.as_str())).collect();
            q.push(&format!(" AND n.type IN ({})", list.join(", ")));
        }
    }
    if !filter.exclude_types.is_empty() {
        let list: Vec<String> = filter
            .exclude_types
            .iter()
            .map(|t| q.bind(t.as_str()))
            .collect();
        q.push(&format!(" AND n.type NOT IN ({})", list.join(", ")));
    }
    if let Some(from) = filter.from_account {
        let p = q.bind(from);
        q.push(&format!(" AND n.from_account_id = {p}"));
    }
}

/// A page of `account`'s notifications, newest first.
pub async fn list<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    filter: &Filter,
    bounds: &PageBounds,
) -> Result<Vec<Notification>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM notifications n"));
    push_filter(&mut q, account, filter);
    q.page("n.id", bounds);
    let mut rows: Vec<Notification> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// How many of the notifications a list would show come after `after_id` (at most `limit`).
pub async fn count_after<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    filter: &Filter,
    after_id: i64,
    limit: i64,
) -> Result<i64> {
    let mut q = Query::new("SELECT COUNT(*) FROM (SELECT n.id FROM notifications n");
    push_filter(&mut q, account, filter);
    let after = q.bind(after_id);
    let n = q.bind(limit);
    q.push(&format!(
        " AND n.id > {after} ORDER BY n.id LIMIT {n}) AS unread"
    ));
    sql::fetch_scalar(ex, q.sql, q.args).await
}

pub async fn get<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<Notification>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM notifications n"));
    push_filter(
        &mut q,
        account,
        &Filter {
            include_filtered: true,
            ..Filter::default()
        },
    );
    let p = q.bind(id);
    q.push(&format!(" AND n.id = {p}"));
    sql::fetch_optional(ex, q.sql, q.args).await
}

/// Deletes one of `account`'s notifications; whether it existed.
pub async fn delete<'a>(ex: impl Exec<'a>, account: AccountId, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM notifications WHERE account_id = $1 AND id = $2",
        args![account, id],
    )
    .await
    .map(|n| n > 0)
}

/// Deletes all of `account`'s notifications.
pub async fn clear<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM notifications WHERE account_id = $1",
        args![account],
    )
    .await
}

/// Deletes `account`'s notifications from `from` (after a block).
pub async fn delete_from<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    from: AccountId,
) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2",
        args![account, from],
    )
    .await
}

/// Deletes the notifications an activity caused (an undone favourite, follow, reblog).
pub async fn delete_for_activity<'a>(
    ex: impl Exec<'a>,
    kind: &str,
    activity_id: i64,
) -> Result<u64> {
    sql::execute(
        ex,
        "DELETE FROM notifications WHERE type = $1 AND activity_id = $2",
        args![kind, activity_id],
    )
    .await
}

/// Deletes a group of `account`'s notifications (`ungrouped-N` is the single notification N).
pub async fn dismiss_group<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    group_key: &str,
) -> Result<u64> {
    match group_key.strip_prefix("ungrouped-") {
        Some(id) => match id.parse::<i64>() {
            Ok(id) => delete(ex, account, id).await.map(u64::from),
            Err(_) => Ok(0),
        },
        None => {
            sql::execute(
                ex,
                "DELETE FROM notifications WHERE account_id = $1 AND group_key = $2",
                args![account, group_key],
            )
            .await
        }
    }
}

/// A group's members up to `upto_id`: (count, newest id, newest time, sample senders newest first).
#[derive(Debug, Clone, Default)]
pub struct GroupSummary {
    pub count: i64,
    pub most_recent_id: i64,
    pub latest_at: Option<DateTime<Utc>>,
    pub sample_account_ids: Vec<i64>,
    /// The oldest member id at or after `from_id`.
    pub page_min_id: i64,
}

/// Summaries of grouped keys of `account`, counting members with ids ≤ `upto_id`
/// (and finding the page's oldest member ≥ `from_id`).
pub async fn group_summaries<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    keys: &[String],
    from_id: i64,
    upto_id: i64,
    samples: usize,
) -> Result<Vec<(String, GroupSummary)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT n.group_key, n.id, n.from_account_id, n.created_at FROM notifications n WHERE n.account_id = ",
    );
    let me = q.bind(account);
    q.push(&me);
    let upto = q.bind(upto_id);
    q.push(&format!(
        " AND n.id <= {upto} AND n.filtered = FALSE AND n.group_key IN ("
    ));
    let list: Vec<String> = keys.iter().map(|k| q.bind(k.as_str())).collect();
    q.push(&list.join(", "));
    q.push(") ORDER BY n.id DESC");
    let rows: Vec<(String, i64, i64, DateTime<Utc>)> = sql::fetch_all(ex, q.sql, q.args).await?;
    let mut out: Vec<(String, GroupSummary)> = keys
        .iter()
        .map(|k| (k.clone(), GroupSummary::default()))
        .collect();
    for (key, id, from, at) in rows {
        let Some((_, g)) = out.iter_mut().find(|(k, _)| *k == key) else {
            continue;
        };
        if g.count == 0 {
            g.most_recent_id = id;
            g.latest_at = Some(at);
        }
        g.count += 1;
        if id >= from_id {
            g.page_min_id = id;
        }
        if g.sample_account_ids.len() < samples && !g.sample_account_ids.contains(&from) {
            g.sample_account_ids.push(from);
        }
    }
    Ok(out)
}

/// The notifications of one group (`ungrouped-N` is notification N), newest first.
pub async fn group_members<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    group_key: &str,
    bounds: &PageBounds,
) -> Result<Vec<Notification>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM notifications n"));
    push_filter(
        &mut q,
        account,
        &Filter {
            include_filtered: true,
            ..Filter::default()
        },
    );
    match group_key.strip_prefix("ungrouped-") {
        Some(id) => {
            let p = q.bind(id.parse::<i64>().unwrap_or(0));
            q.push(&format!(" AND n.id = {p}"));
        }
        None => {
            let p = q.bind(group_key);
            q.push(&format!(" AND n.group_key = {p}"));
        }
    }
    q.page("n.id", bounds);
    let mut rows: Vec<Notification> = sql::fetch_all(ex, q.sql, q.args).await?;
    if bounds.ascending() {
        rows.reverse();
    }
    Ok(rows)
}

/// Where a user stopped reading a timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Marker {
    pub timeline: String,
    pub last_read_id: i64,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// `account`'s markers for these timelines (those that exist).
pub async fn markers<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    timelines: &[&str],
) -> Result<Vec<Marker>> {
    if timelines.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = ",
    );
    let me = q.bind(account);
    q.push(&me);
    let list: Vec<String> = timelines.iter().map(|t| q.bind(*t)).collect();
    q.push(&format!(
        " AND timeline IN ({}) ORDER BY timeline",
        list.join(", ")
    ));
    sql::fetch_all(ex, q.sql, q.args).await
}

/// Saves a marker; its version goes up only when the position changes.
pub async fn save_marker<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    timeline: &str,
    last_read_id: i64,
    now: DateTime<Utc>,
) -> Result<Marker> {
    sql::fetch_one(
        ex,
        "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (account_id, timeline) DO UPDATE SET \
         version = CASE WHEN markers.last_read_id = excluded.last_read_id THEN markers.version ELSE markers.version + 1 END, \
         updated_at = CASE WHEN markers.last_read_id = excluded.last_read_id THEN markers.updated_at ELSE excluded.updated_at END, \
         last_read_id = excluded.last_read_id \
         RETURNING timeline, last_read_id, version, updated_at",
        args![account, timeline, last_read_id, now],
    )
    .await
}
