//! Users' content filters: a filter has a title, the contexts it applies
//! in (stored comma-separated), an action and an optional expiry, and
//! matches statuses by its keywords or by status ids.

use chrono::{DateTime, Utc};
use ferrodon_model::{AccountId, StatusId};

use crate::sql::{self, args, placeholders};
use crate::{Exec, Result};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomFilter {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    /// Comma-separated contexts (`home,notifications,…`).
    pub context: String,
    pub action: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CustomFilter {
    pub fn contexts(&self) -> Vec<String> {
        self.context
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilterKeyword {
    pub id: i64,
    pub custom_filter_id: i64,
    pub keyword: String,
    pub whole_word: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FilterStatus {
    pub id: i64,
    pub custom_filter_id: i64,
    pub status_id: i64,
}

const FILTER_COLUMNS: &str =
    "id, account_id, title, context, action, expires_at, created_at, updated_at";

/// The writable fields of a filter.
#[derive(Debug, Clone)]
pub struct FilterFields {
    pub title: String,
    pub context: Vec<String>,
    pub action: String,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn create<'a>(
    ex: impl Exec<'a>,
    id: i64,
    account: AccountId,
    f: &FilterFields,
) -> Result<()> {
    let now = crate::now();
    sql::execute(
        ex,
        "INSERT INTO custom_filters (id, account_id, title, context, action, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        args![
            id,
            account,
            f.title.as_str(),
            f.context.join(","),
            f.action.as_str(),
            f.expires_at,
            now
        ],
    )
    .await
    .map(|_| ())
}

pub async fn update<'a>(ex: impl Exec<'a>, id: i64, f: &FilterFields) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE custom_filters SET title = $2, context = $3, action = $4, expires_at = $5, updated_at = $6 \
         WHERE id = $1",
        args![
            id,
            f.title.as_str(),
            f.context.join(","),
            f.action.as_str(),
            f.expires_at,
            crate::now()
        ],
    )
    .await
    .map(|_| ())
}

pub async fn delete<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(ex, "DELETE FROM custom_filters WHERE id = $1", args![id])
        .await
        .map(|n| n > 0)
}

/// One of `account`'s filters.
pub async fn get<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<CustomFilter>> {
    let sql =
        format!("SELECT {FILTER_COLUMNS} FROM custom_filters WHERE id = $1 AND account_id = $2");
    sql::fetch_optional(ex, sql, args![id, account]).await
}

/// Every filter of `account`, oldest first (expired ones included, as Mastodon lists them).
pub async fn of_account<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<Vec<CustomFilter>> {
    let sql =
        format!("SELECT {FILTER_COLUMNS} FROM custom_filters WHERE account_id = $1 ORDER BY id");
    sql::fetch_all(ex, sql, args![account]).await
}

/// `account`'s filters that have not expired at `now`.
pub async fn active<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<Vec<CustomFilter>> {
    let sql = format!(
        "SELECT {FILTER_COLUMNS} FROM custom_filters WHERE account_id = $1 \
         AND (expires_at IS NULL OR expires_at > $2) ORDER BY id"
    );
    sql::fetch_all(ex, sql, args![account, now]).await
}

pub async fn keywords_of<'a>(ex: impl Exec<'a>, filters: &[i64]) -> Result<Vec<FilterKeyword>> {
    if filters.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, custom_filter_id, keyword, whole_word FROM custom_filter_keywords \
         WHERE custom_filter_id IN ({}) ORDER BY id",
        placeholders(1, filters.len())
    );
    sql::fetch_all(ex, sql, filters.iter().map(|f| (*f).into()).collect()).await
}

pub async fn statuses_of<'a>(ex: impl Exec<'a>, filters: &[i64]) -> Result<Vec<FilterStatus>> {
    if filters.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, custom_filter_id, status_id FROM custom_filter_statuses \
         WHERE custom_filter_id IN ({}) ORDER BY id",
        placeholders(1, filters.len())
    );
    sql::fetch_all(ex, sql, filters.iter().map(|f| (*f).into()).collect()).await
}

pub async fn add_keyword<'a>(
    ex: impl Exec<'a>,
    id: i64,
    filter: i64,
    keyword: &str,
    whole_word: bool,
) -> Result<()> {
    sql::execute(
        ex,
        "INSERT INTO custom_filter_keywords (id, custom_filter_id, keyword, whole_word, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![id, filter, keyword, whole_word, crate::now()],
    )
    .await
    .map(|_| ())
}

pub async fn update_keyword<'a>(
    ex: impl Exec<'a>,
    id: i64,
    keyword: &str,
    whole_word: bool,
) -> Result<()> {
    sql::execute(
        ex,
        "UPDATE custom_filter_keywords SET keyword = $2, whole_word = $3 WHERE id = $1",
        args![id, keyword, whole_word],
    )
    .await
    .map(|_| ())
}

pub async fn delete_keyword<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM custom_filter_keywords WHERE id = $1",
        args![id],
    )
    .await
    .map(|n| n > 0)
}

/// A keyword of one of `account`'s filters.
pub async fn get_keyword<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<FilterKeyword>> {
    sql::fetch_optional(
        ex,
        "SELECT k.id, k.custom_filter_id, k.keyword, k.whole_word FROM custom_filter_keywords k \
         JOIN custom_filters f ON f.id = k.custom_filter_id WHERE k.id = $1 AND f.account_id = $2",
        args![id, account],
    )
    .await
}

/// Every keyword of `account`'s filters (the v1 filters), oldest first.
pub async fn keywords_of_account<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
) -> Result<Vec<FilterKeyword>> {
    sql::fetch_all(
        ex,
        "SELECT k.id, k.custom_filter_id, k.keyword, k.whole_word FROM custom_filter_keywords k \
         JOIN custom_filters f ON f.id = k.custom_filter_id WHERE f.account_id = $1 ORDER BY k.id",
        args![account],
    )
    .await
}

/// Adds `status` to `filter`; false when it was there already.
pub async fn add_status<'a>(
    ex: impl Exec<'a>,
    id: i64,
    filter: i64,
    status: StatusId,
) -> Result<bool> {
    sql::execute(
        ex,
        "INSERT INTO custom_filter_statuses (id, custom_filter_id, status_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (custom_filter_id, status_id) DO NOTHING",
        args![id, filter, status, crate::now()],
    )
    .await
    .map(|n| n > 0)
}

/// A status entry of one of `account`'s filters.
pub async fn get_status<'a>(
    ex: impl Exec<'a>,
    account: AccountId,
    id: i64,
) -> Result<Option<FilterStatus>> {
    sql::fetch_optional(
        ex,
        "SELECT s.id, s.custom_filter_id, s.status_id FROM custom_filter_statuses s \
         JOIN custom_filters f ON f.id = s.custom_filter_id WHERE s.id = $1 AND f.account_id = $2",
        args![id, account],
    )
    .await
}

pub async fn delete_status<'a>(ex: impl Exec<'a>, id: i64) -> Result<bool> {
    sql::execute(
        ex,
        "DELETE FROM custom_filter_statuses WHERE id = $1",
        args![id],
    )
    .await
    .map(|n| n > 0)
}

/// How many keywords and statuses `filter` has left.
pub async fn entry_count<'a>(ex: impl Exec<'a>, filter: i64) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT (SELECT COUNT(*) FROM custom_filter_keywords WHERE custom_filter_id = $1) \
         + (SELECT COUNT(*) FROM custom_filter_statuses WHERE custom_filter_id = $1)",
        args![filter],
    )
    .await
}

/// Raises `account`'s filter version (first to 1); every change to its
/// filters, keywords or filtered statuses calls this in its transaction, which
/// also serialises an account's concurrent filter changes (the row is locked
/// until commit), so the limits counted afterwards hold.
pub async fn bump_version<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "INSERT INTO filter_versions (account_id, version) VALUES ($1, 1) \
         ON CONFLICT (account_id) DO UPDATE SET version = filter_versions.version + 1 \
         RETURNING version",
        args![account],
    )
    .await
}

/// `account`'s filter version; 0 when it never had a filter.
pub async fn version<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<i64> {
    sql::fetch_scalar(
        ex,
        "SELECT COALESCE((SELECT version FROM filter_versions WHERE account_id = $1), 0)",
        args![account],
    )
    .await
}

/// How many filters, keywords (in all filters) and filtered statuses `account` has.
pub async fn counts<'a>(ex: impl Exec<'a>, account: AccountId) -> Result<(i64, i64, i64)> {
    #[derive(sqlx::FromRow)]
    struct Counts {
        filters: i64,
        keywords: i64,
        statuses: i64,
    }
    let c: Counts = sql::fetch_one(
        ex,
        "SELECT (SELECT COUNT(*) FROM custom_filters WHERE account_id = $1) AS filters, \
         (SELECT COUNT(*) FROM custom_filter_keywords k JOIN custom_filters f \
          ON f.id = k.custom_filter_id WHERE f.account_id = $1) AS keywords, \
         (SELECT COUNT(*) FROM custom_filter_statuses s JOIN custom_filters f \
          ON f.id = s.custom_filter_id WHERE f.account_id = $1) AS statuses",
        args![account],
    )
    .await?;
    Ok((c.filters, c.keywords, c.statuses))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::testing::{local_account, storage_test};

    storage_test!(filters_round_trip, |db: Db| async move {
        let alice = local_account(&db).await;
        let bob = local_account(&db).await;
        let later = crate::now() + chrono::Duration::hours(1);
        let fields = FilterFields {
            title: "Spoilers".into(),
            context: vec!["home".into(), "public".into()],
            action: "hide".into(),
            expires_at: Some(later),
        };
        create(&db, 10, alice, &fields).await.unwrap();
        add_keyword(&db, 11, 10, "dragons", true).await.unwrap();
        add_keyword(&db, 12, 10, "finale", false).await.unwrap();

        let f = get(&db, alice, 10).await.unwrap().unwrap();
        assert_eq!(f.contexts(), vec!["home", "public"]);
        assert_eq!(f.action, "hide");
        assert!(
            get(&db, bob, 10).await.unwrap().is_none(),
            "another user's filter"
        );
        assert!(get_keyword(&db, bob, 11).await.unwrap().is_none());
        let kws = keywords_of(&db, &[10]).await.unwrap();
        assert_eq!(
            kws.iter()
                .map(|k| (k.keyword.as_str(), k.whole_word))
                .collect::<Vec<_>>(),
            vec![("dragons", true), ("finale", false)]
        );
        assert_eq!(keywords_of_account(&db, alice).await.unwrap().len(), 2);

        assert_eq!(active(&db, alice, crate::now()).await.unwrap().len(), 1);
        assert!(
            active(&db, alice, later + chrono::Duration::seconds(1))
                .await
                .unwrap()
                .is_empty(),
            "expired filters are not active"
        );
        assert_eq!(entry_count(&db, 10).await.unwrap(), 2);
        assert!(delete_keyword(&db, 11).await.unwrap());
        assert_eq!(entry_count(&db, 10).await.unwrap(), 1);
        assert!(delete(&db, 10).await.unwrap());
        assert!(keywords_of(&db, &[10]).await.unwrap().is_empty(), "cascade");
    });

    storage_test!(versions_and_counts, |db: Db| async move {
        let alice = local_account(&db).await;
        assert_eq!(version(&db, alice).await.unwrap(), 0, "never had a filter");
        assert_eq!(bump_version(&db, alice).await.unwrap(), 1);
        assert_eq!(bump_version(&db, alice).await.unwrap(), 2);
        assert_eq!(version(&db, alice).await.unwrap(), 2);
        let fields = FilterFields {
            title: "t".into(),
            context: vec!["home".into()],
            action: "warn".into(),
            expires_at: None,
        };
        create(&db, 20, alice, &fields).await.unwrap();
        create(&db, 21, alice, &fields).await.unwrap();
        add_keyword(&db, 22, 20, "a", true).await.unwrap();
        add_keyword(&db, 23, 21, "b", true).await.unwrap();
        add_keyword(&db, 24, 21, "c", true).await.unwrap();
        assert_eq!(counts(&db, alice).await.unwrap(), (2, 3, 0));
    });
}
